"""The counting of one pass over a chat: counts per cell of a grid, and the tokens kept.

A ``Grid`` counts per cell (cell ``i`` covers ``[i·hop_s, i·hop_s + window_s)``, the window
grid of ``emotion.scoring.windows``) the messages, the emote uses, a Counter of the tokens
its messages used, and, while the file's time is within ``LATE_S`` of it, the set of its
chatters. No message is kept. To keep a chat small, a token is kept in a cell only when at
least ``MIN_CELL_MESSAGES`` messages there use it (one message alone is not a reaction) and
it is among the ``MAX_CELL_TOKENS`` most used there, except the kept keywords and the
platform emotes, which are kept at any count; ``token_counts`` keeps at most ``MAX_TOKENS``
tokens over the VOD, as sparse ``CellCounts`` per window and per bin (``TokenCounts``).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_CELL_MESSAGES = 2  # a token is stored in a window or bin used by at least this many,
MAX_CELL_TOKENS = 200  # among its this many most used (memory flat however varied chat is),
MAX_TOKENS = 20_000  # and the stored chat keeps this many tokens, the most used over the VOD
LATE_S = 60.0  # a message this far behind the newest still counts its chatter exactly
# A message far behind the newest (an unsorted file) reaches a closed cell: its tokens are
# pruned again once they pass _LATE_TOKENS, so memory stays flat (counts then approximate).
_LATE_TOKENS = 4 * MAX_CELL_TOKENS


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


class Grid:
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
        """Count a message at ``time_s`` in every cell that holds it."""
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
        """Per cell: messages, chatters, emote uses, and the tokens kept (all cells closed)."""
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


def token_counts(
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
    rest = sorted(
        (t for t in totals if t not in keep and t not in emotes), key=lambda t: (-totals[t], t)
    )[: max(MAX_TOKENS - len(always), 0)]
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


def cell_tokens(counts: CellCounts, names: Mapping[int, str]) -> tuple[Mapping[str, int], ...]:
    """Per cell, the named tokens' messages (name → count), for the tops and the timeline."""
    cells: list[dict[str, int]] = [{} for _ in range(counts.n_cells)]
    for token, name in names.items():
        lo, hi = counts.indptr[token], counts.indptr[token + 1]
        for cell, count in zip(
            counts.cells[lo:hi].tolist(), counts.counts[lo:hi].tolist(), strict=True
        ):
            used = cells[cell]
            used[name] = used.get(name, 0) + count
    return tuple(cells)
