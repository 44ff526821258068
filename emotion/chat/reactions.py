"""How chat reacted, per analysis window and per timeline bin, in one pass (``chat_reactions``).

The pass counts into the window grid of ``emotion.scoring.windows`` (window ``i`` covers
``[i·hop_s, i·hop_s + window_s)``) and into ``SERIES_BIN_S`` bins for the timeline; the
counting itself, and what is kept of it, is ``emotion.chat.cells``'s. No message is kept.

A message votes once per emote or keyword however often it repeats it ("KEKW KEKW KEKW"
is one KEKW), so one spammer does not outweigh a room.

Keywords are counted from ``TokenCounts``, not from the messages: the pass counts, per
window and per bin, the messages using each *token* (``message_tokens``: a word as written
when it has a capital, every word lowercased, every two words in a row lowercased, each
platform emote), and a keyword list is then answered by lookup (``count_keywords``). So the
stored chat answers any list of emotes, words and two-word phrases later, without the file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.chat.cells import Grid, TokenCounts, cell_tokens, token_counts
from emotion.chat.formats import read_chat
from emotion.chat.series import SERIES_BIN_S, TOP_K, ChatSeries, baseline_rate, top_tokens
from emotion.chat.stream import Message
from emotion.errors import HypelineError
from emotion.progress import ProgressFn
from emotion.scoring.keywords import DEFAULT_KEYWORDS, check_keywords, keyword_token, message_tokens
from emotion.scoring.windows import check_grid, expected_windows

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


@dataclass(frozen=True, slots=True)
class ChatReactions:
    """What one pass over a chat gives: per window, per bin, and the counts of the pass."""

    windows: WindowReactions
    series: ChatSeries
    n_messages: int
    beyond: int  # messages at or after duration_s (a chat longer than the VOD)
    tokens: TokenCounts | None = None  # None: stored before keywords could change


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
    windows = Grid(window_s, hop_s, n_cells, keep, emote_names)
    bins = Grid(bin_s, bin_s, n_bins, keep, emote_names, count_tokens=not shared)
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
    counted = token_counts(window_tokens, bin_tokens, keep, emote_names)
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
    window_tokens = cell_tokens(counted.windows, names)
    series = dataclasses.replace(reactions.series, tokens=cell_tokens(counted.bins, names))
    windows = dataclasses.replace(
        w,
        keywords=keywords,
        keyword_counts=keyword_counts,
        top=tuple(top_tokens(tokens, TOP_K) for tokens in window_tokens),
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
