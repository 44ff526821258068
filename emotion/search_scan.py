"""The best windows for a query vector: exact over memory-mapped blocks, or through the index.

``best_windows`` scans every stored vector of the analyses searched, a block of rows at a
time on a few threads, keeping a bounded heap; ``indexed_windows`` asks each model's
approximate index (``search_index``) for candidates and scores them exactly from the
stored vectors, with the same arithmetic, scanning beside it what the index does not hold
yet. Both give (score, analysis id, row), best first, the query's own moment left out.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from emotion import search_index
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.progress import Progress, ProgressFn
from emotion.search_index_build import split_ids

# Rows scored per memory-mapped block: 16 Mi of float32 at 512 dims (32 MiB), small
# enough to keep memory flat and large enough that the matrix product dominates.
BLOCK_ROWS = 16_384
SEARCH_THREADS = min(4, os.cpu_count() or 1)


class Query(Protocol):
    """What a scan reads of a search's query (``search.Query``)."""

    @property
    def vector(self) -> np.ndarray: ...

    @property
    def exclude(self) -> tuple[int, float, float] | None: ...


# (score, analysis id, row): a min-heap of the best windows seen so far.
Candidate = tuple[float, int, int]


def best_windows(
    store: Store,
    records: Sequence[AnalysisRecord],
    query: Query,
    wanted: int,
    total: int,
    progress: ProgressFn | None,
) -> list[Candidate]:
    """The ``wanted`` best (score, analysis id, row) over every window of ``records``."""
    vector = np.ascontiguousarray(query.vector, dtype=np.float32)
    blocks = [
        (record, first, min(first + BLOCK_ROWS, record.n_done))
        for record in records
        for first in range(0, record.n_done, BLOCK_ROWS)
    ]

    def score(block: tuple[AnalysisRecord, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The block's own best (scores, rows): all the merge needs of it."""
        record, first, stop = block
        rows = store.vector_rows(record, first, stop)
        # einsum: each row's sum in one fixed order, so a score never depends on the
        # block it was read in (BLAS's gemv does), and here faster than BLAS.
        scores = np.einsum("ij,j->i", rows, vector)
        del rows  # unmaps: its resident pages go with it
        if (excluded := excluded_rows(record, query.exclude)) is not None:
            scores[max(excluded[0] - first, 0) : max(excluded[1] - first, 0)] = -np.inf
        keep = np.arange(len(scores))
        if len(scores) > wanted:
            keep = np.argpartition(scores, -wanted)[-wanted:]
        keep = keep[scores[keep] > -np.inf]
        return scores[keep], keep + first

    best: list[Candidate] = []
    done = 0
    # Reading the vectors is bound by memory bandwidth; a second core almost doubles it.
    # The merge takes the blocks in order, so the answer does not depend on the threads.
    with ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="hypeline-search") as pool:
        for (record, first, stop), (scores, rows) in zip(
            blocks, pool.map(score, blocks), strict=True
        ):
            _keep_best(best, scores, rows, record.id, wanted)
            done += stop - first
            if progress is not None:
                progress(Progress("search", done / max(total, 1), f"{done}/{total} windows"))
    return best


def indexed_windows(
    store: Store,
    library: Sequence[AnalysisRecord],
    records: Sequence[AnalysisRecord],
    query: Query,
    wanted: int,
    total: int,
    progress: ProgressFn | None,
    on_note: Callable[[str], None] | None,
) -> list[Candidate]:
    """The ``wanted`` best windows, as ``best_windows`` finds them, through the indexes:
    their candidates scored exactly, and the analyses no index holds yet scanned."""
    vector = np.ascontiguousarray(query.vector, dtype=np.float32)
    by_model: dict[str, list[AnalysisRecord]] = {}
    for record in records:
        by_model.setdefault(record.model, []).append(record)
    found: list[np.ndarray] = []
    scanned: list[AnalysisRecord] = []
    for model, model_records in by_model.items():
        coverage = search_index.coverage(store, model, vector.shape[0], library, on_note)
        inside = [r for r in model_records if r.id in coverage.covered]
        scanned += [r for r in model_records if r.id not in coverage.covered]
        if not inside:
            continue
        k = max(search_index.MIN_CANDIDATES, search_index.CANDIDATE_FACTOR * wanted)
        # The index holds the whole model's library; a search of a part of it asks for more,
        # so that as many of that part's windows come back. A small part is scanned instead.
        indexed = coverage.n_indexed
        k = math.ceil(k * indexed / sum(coverage.covered[r.id] for r in inside))
        if k > search_index.MAX_CANDIDATES and k < indexed:
            scanned += inside
            continue
        ids = coverage.search(vector, min(k, indexed))
        aids, rows = split_ids(ids)
        ids_in = np.array([r.id for r in inside], dtype=np.int64)
        limits = np.array([coverage.covered[r.id] for r in inside], dtype=np.int64)
        order = np.argsort(ids_in)
        at = np.searchsorted(ids_in[order], aids).clip(0, len(ids_in) - 1)
        keep = (ids_in[order][at] == aids) & (rows < limits[order][at])
        found.append(ids[keep])
    scores, aids, rows = _rescored(store, {r.id: r for r in records}, query, found)
    if scanned:
        best = best_windows(store, scanned, query, wanted, sum(r.n_done for r in scanned), None)
        scores = np.concatenate([scores, np.array([c[0] for c in best], dtype=np.float64)])
        aids = np.concatenate([aids, np.array([c[1] for c in best], dtype=np.int64)])
        rows = np.concatenate([rows, np.array([c[2] for c in best], dtype=np.int64)])
    if progress is not None:
        progress(Progress("search", 1.0, f"{total}/{total} windows"))
    # the best (score, analysis id, row) first, as the scan's heap orders them
    order = np.lexsort((-rows, -aids, -scores))[:wanted]
    return list(
        zip(scores[order].tolist(), aids[order].tolist(), rows[order].tolist(), strict=True)
    )


def _rescored(
    store: Store, records: dict[int, AnalysisRecord], query: Query, found: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate ids scored exactly, from the stored vectors, as the scan scores them:
    (scores, analysis ids, rows), the query's own moment left out."""
    ids = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    aids, rows = split_ids(ids)  # sorted by analysis, then row
    scores = np.empty(len(ids), dtype=np.float64)
    vector = np.ascontiguousarray(query.vector, dtype=np.float32)
    bounds = [0, *(np.flatnonzero(np.diff(aids)) + 1).tolist(), len(ids)]
    for lo, hi in itertools.pairwise(bounds):
        if lo == hi:
            continue
        record = records[int(aids[lo])]
        picked = store.vectors_at(record, rows[lo:hi])
        group = np.einsum("ij,j->i", picked, vector)  # the scan's arithmetic, row by row
        if (excluded := excluded_rows(record, query.exclude)) is not None:
            group[(rows[lo:hi] >= excluded[0]) & (rows[lo:hi] < excluded[1])] = -np.inf
        scores[lo:hi] = group
    keep = scores > -np.inf
    return scores[keep], aids[keep], rows[keep]


def excluded_rows(
    record: AnalysisRecord, exclude: tuple[int, float, float] | None
) -> tuple[int, int] | None:
    """The rows overlapping a query's own moment (``Query.exclude``), when it came from
    this analysis."""
    if exclude is None or exclude[0] != record.id:
        return None
    _, start_s, end_s = exclude
    first = max(0, math.floor((start_s - record.window_s) / record.hop_s) + 1)
    stop = math.ceil(end_s / record.hop_s)
    return first, stop


def _keep_best(
    best: list[Candidate], scores: np.ndarray, rows: np.ndarray, analysis_id: int, wanted: int
) -> None:
    floor = best[0][0] if len(best) >= wanted else -np.inf
    for i in np.flatnonzero(scores > floor):
        item = (float(scores[i]), analysis_id, int(rows[i]))
        if len(best) < wanted:
            heapq.heappush(best, item)
        elif item > best[0]:
            heapq.heapreplace(best, item)
