"""How chat reacted: per-window figures on the analysis grid, a timeline series, spikes, lag.

Everything is accumulated in one pass over the messages (``chat_reactions``), into the
window grid of ``emotion.scoring.windows`` (window ``i`` covers ``[i·hop_s, i·hop_s +
window_s)``) and into ``SERIES_BIN_S`` bins for the timeline. No message is kept: a window
holds counts, a Counter of the emotes and keywords its messages used, and, while the
file's time is within ``LATE_S`` of it, the set of its chatters.

A message votes once per emote or keyword however often it repeats it ("KEKW KEKW KEKW"
is one KEKW), so one spammer does not outweigh a room.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.chat.formats import Message, read_chat
from emotion.errors import HypelineError
from emotion.progress import ProgressFn
from emotion.scoring.windows import check_grid, expected_windows

# Emote names (any capital letter) match case-sensitively as whole tokens ("W" is not "w",
# "Pog" is not "PogChamp"); lowercase phrases match case-insensitively as whole words.
DEFAULT_KEYWORDS = (
    "KEKW", "LUL", "LULW", "OMEGALUL", "Pog", "PogChamp", "POGGERS", "PogU", "W", "L",
    "clip it", "Clip", "monkaS", "monkaW", "PepeLaugh", "Sadge", "ICANT", "Kappa",
    "lol", "lmao", "haha", "omg", "wtf", "no way", "holy",
)  # fmt: skip
SERIES_BIN_S = 10.0  # a timeline lane's bin
TOP_K = 3  # emotes and keywords named per bin, window or reaction
LATE_S = 60.0  # a message this far behind the newest still counts its chatter exactly
MIN_BASELINE = 1.0  # messages per bin: a dead chat's baseline, so ratios stay finite
SPIKE_FACTOR = 3.0  # a spike bin has at least this many times the baseline ...
SPIKE_MIN_MESSAGES = 10  # ... and at least this many messages
# Viewers react 5–20 s after a moment (stream delay + reading + typing); the estimate is
# searched over 0–LAG_SEARCH_S and kept within LAG_MIN_S…LAG_MAX_S.
LAG_MIN_S, LAG_MAX_S, LAG_DEFAULT_S, LAG_SEARCH_S = 3.0, 20.0, 8.0, 30.0
LAG_MIN_CORRELATION = 0.1  # below this peak the chat says nothing about the sound
LAG_DETREND_S = 300.0  # slow swings of chat (a raid, the end of a game) are taken out first


@dataclass(frozen=True, slots=True, eq=False)
class WindowReactions:
    """Chat per analysis window: window ``i`` starts at ``i·hop_s`` and lasts ``window_s``."""

    window_s: float
    hop_s: float
    messages: np.ndarray  # [n] messages
    chatters: np.ndarray  # [n] distinct authors
    emotes: np.ndarray  # [n] emote uses (platform emotes: fragments, runs, emote lists)
    keywords: tuple[str, ...]
    keyword_counts: np.ndarray  # [n, len(keywords)] messages using each keyword
    top: tuple[tuple[str, ...], ...]  # [n] most used emotes and keywords, most first

    def keyword(self, name: str) -> np.ndarray:
        """Messages per window that use ``name`` (one of ``keywords``)."""
        return self.keyword_counts[:, self.keywords.index(name)]


@dataclass(frozen=True, slots=True, eq=False)
class ChatSeries:
    """Messages per ``bin_s`` bin for a timeline lane, with what they used, and the usual rate."""

    bin_s: float
    messages: np.ndarray  # [n_bins]
    chatters: np.ndarray  # [n_bins]
    tokens: tuple[Mapping[str, int], ...]  # [n_bins] emote or keyword → messages using it
    baseline: float  # messages per bin in ordinary chat (baseline_rate)

    def top(self, index: int, k: int = TOP_K) -> tuple[str, ...]:
        """The ``k`` emotes or keywords most used in bin ``index``."""
        return _top(self.tokens[index], k)


@dataclass(frozen=True, slots=True)
class ChatReactions:
    """What one pass over a chat gives: per window, per bin, and the counts of the pass."""

    windows: WindowReactions
    series: ChatSeries
    n_messages: int
    beyond: int  # messages at or after duration_s (a chat longer than the VOD)


@dataclass(frozen=True, slots=True)
class Reaction:
    """How chat answered a moment, measured after it by the lag."""

    messages: int
    rate_vs_baseline: float
    top: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChatSpike:
    """Bins in a row where chat ran far above its baseline."""

    start_s: float
    end_s: float
    messages: int
    rate_vs_baseline: float
    top: tuple[str, ...]


class KeywordMatcher:
    """Finds which keywords a message uses, by the rules of ``DEFAULT_KEYWORDS``."""

    def __init__(self, keywords: Sequence[str] = DEFAULT_KEYWORDS) -> None:
        if not keywords or any(not k.strip() for k in keywords):
            raise HypelineError("Chat keywords must be words or phrases; remove the blank ones.")
        self.keywords = tuple(keywords)
        emote_names = [k for k in self.keywords if k != k.lower()]
        phrases = [k for k in self.keywords if k == k.lower()]
        self._phrase_of = {" ".join(p.split()): p for p in phrases}
        # Alternatives are tried in order: phrases of several words first, so that "Clip
        # it" is the phrase "clip it" and not the emote "Clip"; longer names before shorter.
        groups = [
            (True, [p for p in phrases if " " in p.strip()]),
            (False, emote_names),
            (True, [p for p in phrases if " " not in p.strip()]),
        ]
        parts = []
        for ignore_case, words in groups:
            spaced = sorted((r"\s+".join(map(re.escape, w.split())) for w in words), key=len)
            body = "|".join(reversed(spaced)) or "(?!)"
            parts.append(f"(?i:({body}))" if ignore_case else f"({body})")
        self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")

    def find(self, text: str) -> set[str]:
        """The keywords ``text`` uses (each once), as they are written in ``keywords``."""
        found = set()
        for long_phrase, emote, phrase in self._pattern.findall(text):
            found.add(emote or self._phrase_of[" ".join((long_phrase or phrase).lower().split())])
        return found


def chat_reactions(
    messages: Iterable[Message],
    window_s: float,
    hop_s: float,
    duration_s: float | None = None,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    bin_s: float = SERIES_BIN_S,
) -> ChatReactions:
    """Per-window figures and the timeline series of a chat, in one pass over its messages.

    With ``duration_s`` (the VOD's) the grid has ``expected_windows(duration_s, ...)``
    windows and messages past the end are counted in ``beyond``; without it the grid ends
    with the last message.
    """
    check_grid(window_s, hop_s)
    if not bin_s > 0:
        raise HypelineError("The chat timeline's bin must be a positive number of seconds.")
    matcher = KeywordMatcher(keywords)
    n_windows = expected_windows(duration_s, window_s, hop_s) if duration_s else None
    n_bins = math.ceil(duration_s / bin_s) if duration_s else None
    windows = _Grid(window_s, hop_s, n_windows)
    bins = _Grid(bin_s, bin_s, n_bins)
    author_ids: dict[str, int] = {}
    n_messages = beyond = 0
    find = matcher.find
    for message in messages:
        time_s = message.time_s
        n_messages += 1
        if duration_s is not None and time_s >= duration_s:
            beyond += 1
            continue
        tokens = find(message.text) if message.text else set()
        n_emotes = 0
        if message.emotes:
            emotes = set(message.emotes)
            n_emotes = len(emotes)
            tokens |= emotes
        author = author_ids.setdefault(message.author, len(author_ids))
        windows.add(time_s, author, tokens, n_emotes)
        bins.add(time_s, author, tokens, n_emotes)
    window_messages, window_chatters, window_emotes, window_tokens = windows.finish()
    bin_messages, bin_chatters, _, bin_tokens = bins.finish()
    counts = np.zeros((len(window_messages), len(matcher.keywords)), dtype=np.int32)
    for i, used in enumerate(window_tokens):
        for k, keyword in enumerate(matcher.keywords):
            counts[i, k] = used.get(keyword, 0)
    return ChatReactions(
        windows=WindowReactions(
            window_s=window_s,
            hop_s=hop_s,
            messages=window_messages,
            chatters=window_chatters,
            emotes=window_emotes,
            keywords=matcher.keywords,
            keyword_counts=counts,
            top=tuple(_top(tokens, TOP_K) for tokens in window_tokens),
        ),
        series=ChatSeries(
            bin_s=bin_s,
            messages=bin_messages,
            chatters=bin_chatters,
            tokens=bin_tokens,
            baseline=baseline_rate(bin_messages),
        ),
        n_messages=n_messages,
        beyond=beyond,
    )


def read_reactions(
    path: Path,
    window_s: float,
    hop_s: float,
    duration_s: float | None = None,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    progress: ProgressFn | None = None,
) -> ChatReactions:
    """``chat_reactions`` of a chat replay file (any of ``formats.FORMATS``), streamed."""
    return chat_reactions(read_chat(path, progress=progress), window_s, hop_s, duration_s, keywords)


def baseline_rate(messages_per_bin: np.ndarray) -> float:
    """Ordinary chat: the median messages per bin between the first and last message.

    The median, not the mean, so that the spikes being looked for do not raise it; the
    silence before chat starts and after it ends is left out. At least ``MIN_BASELINE``.
    """
    active = np.flatnonzero(messages_per_bin)
    if not active.size:
        return MIN_BASELINE
    span = messages_per_bin[active[0] : active[-1] + 1]
    return max(float(np.median(span)), MIN_BASELINE)


def rate_vs_baseline(series: ChatSeries, start_s: float, end_s: float) -> float:
    """Messages per bin over ``[start_s, end_s)`` divided by the baseline (1.0: ordinary)."""
    messages, bins, _ = _span(series, start_s, end_s)
    return messages / bins / series.baseline


def reaction(
    series: ChatSeries, start_s: float, end_s: float, lag_s: float = LAG_DEFAULT_S
) -> Reaction:
    """Chat's answer to the moment ``[start_s, end_s)``: the same span ``lag_s`` later."""
    messages, bins, tokens = _span(series, start_s + lag_s, end_s + lag_s)
    return Reaction(
        messages=round(messages),
        rate_vs_baseline=messages / bins / series.baseline,
        top=_top(tokens, TOP_K),
    )


def chat_spikes(
    series: ChatSeries,
    factor: float = SPIKE_FACTOR,
    min_messages: int = SPIKE_MIN_MESSAGES,
) -> list[ChatSpike]:
    """Runs of bins with at least ``factor`` × the baseline and ``min_messages`` messages."""
    hot = (series.messages >= factor * series.baseline) & (series.messages >= min_messages)
    spikes = []
    index = 0
    while index < hot.size:
        if not hot[index]:
            index += 1
            continue
        end = index
        while end < hot.size and hot[end]:
            end += 1
        spikes.append(_spike(series, index, end))
        index = end
    return spikes


def spikes_without_sound(
    spikes: Iterable[ChatSpike],
    moments: Iterable[tuple[float, float]],
    lag_s: float = LAG_DEFAULT_S,
    slack_s: float = SERIES_BIN_S,
) -> list[ChatSpike]:
    """The spikes that no moment ``(start_s, end_s)``, shifted by the lag, explains."""
    shifted = [(start + lag_s - slack_s, end + lag_s + slack_s) for start, end in moments]
    return [
        spike
        for spike in spikes
        if not any(start < spike.end_s and spike.start_s < end for start, end in shifted)
    ]


def estimate_lag_s(sound_score: np.ndarray, chat_rate: np.ndarray, hop_s: float) -> float:
    """How long after the sound chat reacts: the lag of the highest cross-correlation.

    Both are per window of the same grid (``hop_s`` apart). The peak is refined between
    windows by a parabola, then kept within ``LAG_MIN_S``…``LAG_MAX_S``; with too little
    signal (a short VOD, a flat score, a silent or unrelated chat) it is ``LAG_DEFAULT_S``.
    """
    if not hop_s > 0:
        raise HypelineError("The hop must be a positive number of seconds.")
    n = min(len(sound_score), len(chat_rate))
    max_lag = math.ceil(LAG_SEARCH_S / hop_s)
    if n < max_lag + max(20, 2 * max_lag):
        return LAG_DEFAULT_S
    sound = _detrended(np.asarray(sound_score[:n], dtype=np.float64), hop_s)
    chat = _detrended(np.asarray(chat_rate[:n], dtype=np.float64), hop_s)
    correlation = np.full(max_lag + 1, -np.inf)
    for lag in range(max_lag + 1):
        a, b = sound[: n - lag], chat[lag:]
        spread = a.std() * b.std()
        if spread > 1e-12:
            correlation[lag] = float(((a - a.mean()) * (b - b.mean())).mean() / spread)
    best = int(np.argmax(correlation))
    if not correlation[best] >= LAG_MIN_CORRELATION:
        return LAG_DEFAULT_S
    offset = 0.0
    if 0 < best < max_lag and np.isfinite(correlation[best - 1 : best + 2]).all():
        left, mid, right = correlation[best - 1 : best + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            offset = 0.5 * (left - right) / curvature
    return float(min(max((best + offset) * hop_s, LAG_MIN_S), LAG_MAX_S))


# -- accumulation ------------------------------------------------------------------------


class _Grid:
    """Counts per cell of a grid from t=0 (cell ``i``: ``[i·hop_s, i·hop_s + window_s)``)."""

    def __init__(self, window_s: float, hop_s: float, n_cells: int | None) -> None:
        self.window_s, self.hop_s, self.n_cells = window_s, hop_s, n_cells
        self.limit = n_cells if n_cells is not None else 1 << 62
        self.messages: list[int] = []
        self.emotes: list[int] = []
        self.tokens: list[dict[str, int] | None] = []
        self.chatters: list[int] = []
        self.open: dict[int, set[int]] = {}  # cells whose chatters are still being counted
        self.newest_s = 0.0

    def add(self, time_s: float, author: int, tokens: set[str], n_emotes: int) -> None:
        # The hot loop of a million messages: plain dicts and no builtins where an if does.
        hop_s = self.hop_s
        last = int(time_s // hop_s)
        first = int((time_s - self.window_s) // hop_s) + 1
        if first < 0:
            first = 0
        if last >= self.limit:
            last = self.limit - 1
        if last >= len(self.messages):
            grow = last + 1 - len(self.messages)
            self.messages += [0] * grow
            self.emotes += [0] * grow
            self.tokens += [None] * grow
            self.chatters += [0] * grow
        messages, open_authors = self.messages, self.open
        for i in range(first, last + 1):
            messages[i] += 1
            if n_emotes:
                self.emotes[i] += n_emotes
            if tokens:
                used = self.tokens[i]
                if used is None:
                    used = self.tokens[i] = {}
                for token in tokens:
                    used[token] = used.get(token, 0) + 1
            authors = open_authors.get(i)
            if authors is None:
                if i * hop_s + self.window_s < self.newest_s - LATE_S:
                    self.chatters[i] += 1  # closed long ago: counted as a new chatter
                    continue
                authors = open_authors[i] = set()
            authors.add(author)
        if time_s > self.newest_s + hop_s:
            self.newest_s = time_s
            self._close(time_s - LATE_S)

    def _close(self, before_s: float) -> None:
        for i in [i for i in self.open if i * self.hop_s + self.window_s < before_s]:
            self.chatters[i] += len(self.open.pop(i))

    def finish(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[Mapping[str, int], ...]]:
        self._close(math.inf)
        n = len(self.messages) if self.n_cells is None else self.n_cells
        pad = n - len(self.messages)
        empty: Mapping[str, int] = {}
        return (
            np.array(self.messages + [0] * pad, dtype=np.int32),
            np.array(self.chatters + [0] * pad, dtype=np.int32),
            np.array(self.emotes + [0] * pad, dtype=np.int32),
            tuple(dict(c) if c else empty for c in self.tokens) + (empty,) * pad,
        )


def _span(
    series: ChatSeries, start_s: float, end_s: float
) -> tuple[float, float, dict[str, float]]:
    """Messages in ``[start_s, end_s)`` (bins weighted by overlap), its length in bins, tokens."""
    if end_s <= start_s:
        end_s = start_s + series.bin_s
    length_bins = (end_s - start_s) / series.bin_s
    messages = 0.0
    tokens: dict[str, float] = {}
    first = max(0, int(start_s // series.bin_s))
    last = min(len(series.messages), math.ceil(end_s / series.bin_s))
    for i in range(first, last):
        bin_start = i * series.bin_s
        overlap = min(end_s, bin_start + series.bin_s) - max(start_s, bin_start)
        if overlap <= 0:
            continue
        weight = overlap / series.bin_s
        messages += weight * float(series.messages[i])
        for token, count in series.tokens[i].items():
            tokens[token] = tokens.get(token, 0.0) + weight * count
    return messages, length_bins, tokens


def _spike(series: ChatSeries, first: int, end: int) -> ChatSpike:
    tokens: Counter[str] = Counter()
    for i in range(first, end):
        tokens.update(series.tokens[i])
    messages = int(series.messages[first:end].sum())
    return ChatSpike(
        start_s=first * series.bin_s,
        end_s=end * series.bin_s,
        messages=messages,
        rate_vs_baseline=messages / (end - first) / series.baseline,
        top=_top(tokens, TOP_K),
    )


def _top(tokens: Mapping[str, float], k: int) -> tuple[str, ...]:
    """The ``k`` most used, most first; ties by name, so the order is the same every run."""
    return tuple(sorted(tokens, key=lambda t: (-tokens[t], t))[:k])


def _detrended(values: np.ndarray, hop_s: float) -> np.ndarray:
    """``values`` less their moving mean over ``LAG_DETREND_S`` (when the VOD is longer)."""
    width = round(LAG_DETREND_S / hop_s)
    if width < 3 or values.size < 2 * width:
        return values
    kernel = np.ones(width) / width
    padded = np.pad(values, width // 2, mode="edge")
    trend = np.convolve(padded, kernel, mode="same")[width // 2 : width // 2 + values.size]
    return values - trend
