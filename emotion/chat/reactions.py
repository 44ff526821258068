"""How chat reacted: per-window figures on the analysis grid, a timeline series, spikes, lag.

Everything is accumulated in one pass over the messages (``chat_reactions``), into the
window grid of ``emotion.scoring.windows`` (window ``i`` covers ``[i·hop_s, i·hop_s +
window_s)``) and into ``SERIES_BIN_S`` bins for the timeline. No message is kept: a window
holds counts, a Counter of the emotes and keywords its messages used, and, while the
file's time is within ``LATE_S`` of it, the set of its chatters.

A message votes once per emote or keyword however often it repeats it ("KEKW KEKW KEKW"
is one KEKW), so one spammer does not outweigh a room.

Keywords are counted from ``TokenCounts``, not from the messages: the pass counts, per
window and per bin, the messages using each *token* (a word as written when it has a
capital, every word lowercased, every two words in a row lowercased, each platform emote),
and a keyword list is then answered by lookup (``count_keywords``). So the stored chat
answers any list of emotes, words and two-word phrases later, without the file. To keep it
small, a token is kept in a window or bin only when at least ``MIN_CELL_MESSAGES`` messages
there use it (one message alone is not a reaction) and it is among the ``MAX_CELL_TOKENS``
most used there, except the keywords given to the pass and the platform emotes, which are
kept at any count; at most ``MAX_TOKENS`` tokens are kept over the VOD.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import re
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.chat.formats import Message, read_chat
from emotion.errors import HypelineError
from emotion.progress import ProgressFn
from emotion.scoring.windows import check_grid, expected_windows

# Emote names (one word with a capital letter) match case-sensitively as whole tokens ("W" is
# not "w", "Pog" is not "PogChamp"); lowercase words and two-word phrases match in any case
# as whole words. The default list, once: pipeline.Settings, the CLI, the sidebar take it.
DEFAULT_KEYWORDS = (
    "KEKW", "LUL", "LULW", "OMEGALUL", "Pog", "PogChamp", "POGGERS", "PogU", "W", "L",
    "clip it", "Clip", "monkaS", "monkaW", "PepeLaugh", "Sadge", "ICANT", "Kappa",
    "lol", "lmao", "haha", "omg", "wtf", "no way", "holy",
)  # fmt: skip
MAX_KEYWORDS = 50  # a keyword list's length
MAX_KEYWORD_WORDS = 2  # an emote, a word or a two-word phrase
MIN_CELL_MESSAGES = 2  # a token is stored in a window or bin used by at least this many,
MAX_CELL_TOKENS = 200  # among its this many most used (memory flat however varied chat is),
MAX_TOKENS = 20_000  # and the stored chat keeps this many tokens, the most used over the VOD
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
# A message far behind the newest (an unsorted file) reaches a closed cell: its tokens are
# pruned again once they pass _LATE_TOKENS, so memory stays flat (counts then approximate).
_LATE_TOKENS = 4 * MAX_CELL_TOKENS
_TEXT_CACHE = 20_000  # distinct message texts whose tokens are remembered during a pass


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
    tokens: TokenCounts | None = None  # None: stored before keywords could change


@dataclass(frozen=True, slots=True, eq=False)
class CellCounts:
    """Sparse messages per cell for each token, token-major: token ``t``'s cells are
    ``cells[indptr[t]:indptr[t + 1]]`` with ``counts`` at the same places."""

    n_cells: int
    indptr: np.ndarray  # [n_tokens + 1]
    cells: np.ndarray  # [nnz] cell index
    counts: np.ndarray  # [nnz] messages using the token in that cell

    def column(self, token: int) -> np.ndarray:
        """Messages per cell using token ``token`` (dense)."""
        out = np.zeros(self.n_cells, dtype=np.int32)
        lo, hi = self.indptr[token], self.indptr[token + 1]
        out[self.cells[lo:hi]] = self.counts[lo:hi]
        return out


@dataclass(frozen=True, slots=True, eq=False)
class TokenCounts:
    """What a chat used, per window and per bin: the form any keyword list is counted from."""

    vocabulary: tuple[str, ...]  # tokens (``message_tokens``), most used first
    emotes: frozenset[str]  # the tokens that are platform emotes (named whatever the list)
    windows: CellCounts
    bins: CellCounts
    min_cell_messages: int = MIN_CELL_MESSAGES

    def index(self) -> dict[str, int]:
        return {token: i for i, token in enumerate(self.vocabulary)}


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


_WORD = re.compile(r"\w+(?:'\w+)*")  # "KEKW", "let's", "clip"; emoji and punctuation part them
_WHOLE_WORD = re.compile(r"\w+(?:'\w+)*\Z").match


def message_tokens(text: str) -> set[str]:
    """The tokens a message uses, each once: a word as written when it has a capital (emote
    names match case-sensitively), every word lowercased, and every two words in a row
    (only spaces between them) lowercased and joined by one space."""
    tokens: set[str] = set()
    add = tokens.add
    previous = ""  # the lowercased word that ends the piece before, if one does
    for piece in text.split():
        if piece.isalnum() or _WHOLE_WORD(piece):  # the usual piece: one word (isalnum: \w)
            lower = piece.lower()
            add(lower)
            if lower != piece:
                add(piece)
            if previous:
                add(previous + " " + lower)
            previous = lower
            continue
        end, last = -1, ""
        for match in _WORD.finditer(piece):  # "KEKW!", "lol,clip", "😂KEKW"
            word = match.group()
            lower = word.lower()
            add(lower)
            if lower != word:
                add(word)
            if previous and match.start() == 0:
                add(previous + " " + lower)
            previous, end = "", match.end()
            last = lower
        previous = last if end == len(piece) else ""
    return tokens


def keyword_token(keyword: str) -> str:
    """The token a keyword is looked up as: an emote name (a capital) as written, a word or
    a two-word phrase lowercased; a ``HypelineError`` for one that is neither."""
    words = _WORD.findall(keyword)
    if not words:
        raise HypelineError("Chat keywords must be words or phrases; remove the blank ones.")
    if " ".join(words) != " ".join(keyword.split()):
        raise HypelineError(
            f"The chat keyword {keyword.strip()!r} holds more than words; use letters, digits, "
            "_ and ' (an emote's name, a word or a two-word phrase)."
        )
    if len(words) > MAX_KEYWORD_WORDS:
        raise HypelineError(
            f"The chat keyword {keyword.strip()!r} has {len(words)} words; a keyword is an "
            f"emote, a word or a phrase of at most {MAX_KEYWORD_WORDS} words."
        )
    if len(words) == 1 and words[0] != words[0].lower():
        return words[0]
    return " ".join(words).lower()


def check_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    """A keyword list as counted: each stripped, checked (``keyword_token``), each once."""
    given = [str(k) for k in keywords]
    if not given or any(not k.strip() for k in given):
        raise HypelineError("Chat keywords must be words or phrases; remove the blank ones.")
    if len(given) > MAX_KEYWORDS:
        raise HypelineError(
            f"Give at most {MAX_KEYWORDS} chat keywords, not {len(given)}; keep the ones that "
            "matter."
        )
    seen: set[str] = set()
    kept = []
    for keyword in given:
        token = keyword_token(keyword)
        if token not in seen:
            seen.add(token)
            kept.append(" ".join(keyword.split()))
    return tuple(kept)


def parse_keywords(text: str) -> tuple[str, ...]:
    """A comma-separated keyword list ("KEKW, LUL, clip it"), checked."""
    return check_keywords(text.split(","))


class KeywordMatcher:
    """Finds which keywords a message uses, by the rules of ``message_tokens``: an emote name
    whole and case-sensitively, a word or a two-word phrase whole in any case; each keyword
    on its own ("Clip it" uses both "clip it" and "Clip")."""

    def __init__(self, keywords: Sequence[str] = DEFAULT_KEYWORDS) -> None:
        self.keywords = check_keywords(keywords)
        self._token_of = {keyword_token(k): k for k in self.keywords}

    def find(self, text: str) -> set[str]:
        """The keywords ``text`` uses (each once), as they are written in ``keywords``."""
        return {self._token_of[t] for t in message_tokens(text) if t in self._token_of}


def chat_reactions(
    messages: Iterable[Message],
    window_s: float,
    hop_s: float,
    duration_s: float | None = None,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    bin_s: float = SERIES_BIN_S,
) -> ChatReactions:
    """Per-window figures and the timeline series of a chat, in one pass over its messages,
    with the token counts any other keyword list is counted from later (``count_keywords``).

    With ``duration_s`` (the VOD's) the grid has ``expected_windows(duration_s, ...)``
    windows and messages past the end are counted in ``beyond``; without it the grid ends
    with the last message. ``keywords`` (and the defaults) are kept at any count.
    """
    check_grid(window_s, hop_s)
    if not bin_s > 0:
        raise HypelineError("The chat timeline's bin must be a positive number of seconds.")
    keywords = check_keywords(keywords)
    keep = {keyword_token(k) for k in (*DEFAULT_KEYWORDS, *keywords)}
    n_windows = expected_windows(duration_s, window_s, hop_s) if duration_s else None
    n_bins = math.ceil(duration_s / bin_s) if duration_s else None
    emote_names: set[str] = set()
    # A bin as long as a window, on the windows' grid (10 s bins, 10 s windows, 5 s hop), is
    # window b·step: its tokens are that window's, counted once (a third of the pass's work).
    step = round(bin_s / hop_s)
    shared = bin_s == window_s and abs(step * hop_s - bin_s) < 1e-9
    n_cells = n_windows
    if shared and n_windows is not None and n_bins is not None:  # the tail bin's window too
        n_cells = max(n_windows, (n_bins - 1) * step + 1)
    windows = _Grid(window_s, hop_s, n_cells, keep, emote_names)
    bins = _Grid(bin_s, bin_s, n_bins, keep, emote_names, count_tokens=not shared)
    author_ids: dict[str, int] = {}
    n_messages = beyond = 0
    # Chat repeats itself ("KEKW", "W", copypasta): a message's tokens are worked out once
    # per distinct text, in a cache cleared when it grows past _TEXT_CACHE texts.
    cache: dict[str, frozenset[str]] = {}
    for message in messages:
        time_s = message.time_s
        n_messages += 1
        if duration_s is not None and time_s >= duration_s:
            beyond += 1
            continue
        text = message.text
        tokens = cache.get(text)
        if tokens is None:
            if len(cache) >= _TEXT_CACHE:
                cache.clear()
            tokens = cache[text] = frozenset(message_tokens(text)) if text else frozenset()
        n_emotes = 0
        if message.emotes:
            emotes = set(message.emotes)
            emote_names |= emotes
            n_emotes = len(emotes)
            tokens = tokens | emotes
        author = author_ids.setdefault(message.author, len(author_ids))
        windows.add(time_s, author, tokens, n_emotes)
        bins.add(time_s, author, tokens, n_emotes)
    window_messages, window_chatters, window_emotes, window_tokens = windows.finish()
    bin_messages, bin_chatters, _, bin_tokens = bins.finish()
    if shared:
        bin_tokens = tuple(window_tokens[b * step] for b in range(len(bin_messages)))
    if n_windows is not None:  # the cells past the last window were the tail bin's
        window_messages, window_chatters = window_messages[:n_windows], window_chatters[:n_windows]
        window_emotes, window_tokens = window_emotes[:n_windows], window_tokens[:n_windows]
    counted = _token_counts(window_tokens, bin_tokens, keep, emote_names)
    plain = ChatReactions(
        windows=WindowReactions(
            window_s=window_s,
            hop_s=hop_s,
            messages=window_messages,
            chatters=window_chatters,
            emotes=window_emotes,
            keywords=(),
            keyword_counts=np.zeros((len(window_messages), 0), dtype=np.int32),
            top=((),) * len(window_messages),
        ),
        series=ChatSeries(
            bin_s=bin_s,
            messages=bin_messages,
            chatters=bin_chatters,
            tokens=({},) * len(bin_messages),
            baseline=baseline_rate(bin_messages),
        ),
        n_messages=n_messages,
        beyond=beyond,
        tokens=counted,
    )
    return count_keywords(plain, keywords)[0]


def count_keywords(
    reactions: ChatReactions, keywords: Sequence[str] = DEFAULT_KEYWORDS
) -> tuple[ChatReactions, list[str]]:
    """``reactions`` with ``keywords`` counted from its token counts (per window, per bin,
    the top ones), and notes: keywords chat never used enough to be stored count as 0; a
    chat stored before keywords could change keeps the keywords it was counted with."""
    keywords = check_keywords(keywords)
    counted = reactions.tokens
    if counted is None:
        if set(keywords) == set(reactions.windows.keywords):
            return reactions, []
        return reactions, [
            "This analysis's chat was stored before chat keywords could change, so it is "
            "counted with the default keywords; attach its chat file again to count yours."
        ]
    index = counted.index()
    names: dict[int, str] = {}  # token → the name it is shown as
    missing = []
    for keyword in keywords:
        token = index.get(keyword_token(keyword))
        if token is None:
            if keyword not in DEFAULT_KEYWORDS:  # a default unused is no news; a typo may be
                missing.append(keyword)
        else:
            names[token] = keyword
    for emote in counted.emotes:  # platform emotes are named whatever the list
        names.setdefault(index[emote], emote)
    w = reactions.windows
    keyword_counts = np.zeros((len(w.messages), len(keywords)), dtype=np.int32)
    for k, keyword in enumerate(keywords):
        token = index.get(keyword_token(keyword))
        if token is not None:
            keyword_counts[:, k] = counted.windows.column(token)
    window_tokens = _cell_tokens(counted.windows, names)
    series = dataclasses.replace(reactions.series, tokens=_cell_tokens(counted.bins, names))
    windows = dataclasses.replace(
        w,
        keywords=keywords,
        keyword_counts=keyword_counts,
        top=tuple(_top(tokens, TOP_K) for tokens in window_tokens),
    )
    notes = []
    if missing:
        notes.append(
            f"Chat did not use {', '.join(repr(k) for k in missing)} in this analysis (by "
            f"{counted.min_cell_messages} or more messages within {reactions.series.bin_s:g} "
            "s), so it counts as 0."
        )
    return dataclasses.replace(reactions, windows=windows, series=series), notes


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

    def __init__(
        self,
        window_s: float,
        hop_s: float,
        n_cells: int | None,
        keep: set[str] | frozenset[str] = frozenset(),
        emotes: set[str] | None = None,
        count_tokens: bool = True,
    ) -> None:
        self.window_s, self.hop_s, self.n_cells = window_s, hop_s, n_cells
        self.keep = keep
        self.emote_names = emotes if emotes is not None else set()
        self.canon: dict[str, str] = {}  # one string per token kept, shared by the cells
        self.limit = n_cells if n_cells is not None else 1 << 62
        self.messages: list[int] = []
        self.emotes: list[int] = []
        self.tokens: list[Counter[str] | None] = []
        self.chatters: list[int] = []
        self.open: dict[int, set[int]] = {}  # cells whose chatters are still being counted
        self.newest_s = 0.0
        self.count_tokens = count_tokens

    def add(
        self, time_s: float, author: int, tokens: set[str] | frozenset[str], n_emotes: int
    ) -> None:
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
            if tokens and self.count_tokens:
                used = self.tokens[i]
                if used is None:
                    used = self.tokens[i] = Counter()
                _count_elements(used, tokens)  # Counter.update's own C loop, without its checks
            authors = open_authors.get(i)
            if authors is None:
                if i * hop_s + self.window_s < self.newest_s - LATE_S:
                    self.chatters[i] += 1  # closed long ago: counted as a new chatter
                    used = self.tokens[i]  # and its tokens pruned as they grow (memory)
                    if used is not None and len(used) > _LATE_TOKENS:
                        self.tokens[i] = self._pruned(used)
                    continue
                authors = open_authors[i] = set()
            authors.add(author)
        if time_s > self.newest_s + hop_s:
            self.newest_s = time_s
            self._close(time_s - LATE_S)

    def _close(self, before_s: float) -> None:
        for i in [i for i in self.open if i * self.hop_s + self.window_s < before_s]:
            self.chatters[i] += len(self.open.pop(i))
            used = self.tokens[i]
            if used:  # a closed cell keeps only what a reaction can be made of
                self.tokens[i] = self._pruned(used)

    def _pruned(self, used: Mapping[str, int]) -> Counter[str]:
        canon = self.canon
        often = [(t, c) for t, c in used.items() if c >= MIN_CELL_MESSAGES]
        if len(often) > MAX_CELL_TOKENS:  # ties by name: the same cells every run
            often = heapq.nsmallest(MAX_CELL_TOKENS, often, key=lambda tc: (-tc[1], tc[0]))
        kept = {canon.setdefault(t, t): c for t, c in often}
        for token in used.keys() & (self.keep | self.emote_names):
            kept[canon.setdefault(token, token)] = used[token]
        return Counter(kept)

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
            tuple(self._pruned(c) if c else empty for c in self.tokens) + (empty,) * pad,
        )


def _token_counts(
    window_tokens: Sequence[Mapping[str, int]],
    bin_tokens: Sequence[Mapping[str, int]],
    keep: set[str],
    emotes: set[str],
) -> TokenCounts:
    """The cells' token counts as ``TokenCounts``: the ``MAX_TOKENS`` tokens most used over
    the bins (the kept ones and the emotes whatever their use), most used first."""
    totals: Counter[str] = Counter()
    for used in bin_tokens:
        totals.update(used)
    always = [t for t in totals if t in keep or t in emotes]
    rest = sorted((t for t in totals if t not in keep and t not in emotes),
                  key=lambda t: (-totals[t], t))[: max(MAX_TOKENS - len(always), 0)]  # fmt: skip
    vocabulary = tuple(sorted([*always, *rest], key=lambda t: (-totals[t], t)))
    index = {token: i for i, token in enumerate(vocabulary)}
    return TokenCounts(
        vocabulary=vocabulary,
        emotes=frozenset(t for t in vocabulary if t in emotes),
        windows=_sparse(window_tokens, index),
        bins=_sparse(bin_tokens, index),
    )


def _sparse(cells: Sequence[Mapping[str, int]], index: Mapping[str, int]) -> CellCounts:
    rows, columns, values = [], [], []
    for cell, used in enumerate(cells):
        for token, count in used.items():
            t = index.get(token)
            if t is not None:
                rows.append(t)
                columns.append(cell)
                values.append(count)
    tokens = np.array(rows, dtype=np.int64)
    order = np.argsort(tokens, kind="stable")
    indptr = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(np.bincount(tokens, minlength=len(index)), out=indptr[1:])
    return CellCounts(
        n_cells=len(cells),
        indptr=indptr,
        cells=np.array(columns, dtype=np.int32)[order],
        counts=np.array(values, dtype=np.int32)[order],
    )


def _cell_tokens(counts: CellCounts, names: Mapping[int, str]) -> tuple[Mapping[str, int], ...]:
    """Per cell, the named tokens' messages (name → count), for the tops and the timeline."""
    cells: list[dict[str, int]] = [{} for _ in range(counts.n_cells)]
    for token, name in names.items():
        lo, hi = counts.indptr[token], counts.indptr[token + 1]
        for cell, count in zip(counts.cells[lo:hi].tolist(), counts.counts[lo:hi].tolist(),
                               strict=True):  # fmt: skip
            used = cells[cell]
            used[name] = used.get(name, 0) + count
    return tuple(cells)


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
