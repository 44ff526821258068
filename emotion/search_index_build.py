"""What a model's search index holds, and how it is made: ids, training, adding, removing.

* A window's id is ``analysis id << 32 | row`` (``window_ids``, ``split_ids``).
* ``train_index``: faiss IVF-PQ over inner product (unit vectors: cosine). A spherical
  k-means coarse quantizer of ``nlist`` lists (about 2·√N, ≤ 4096), trained on a sample
  drawn evenly from the library, and product quantization of the residuals to ``dim / 8``
  bytes a vector: 64 B at 512 dims, so 10 M windows take ~0.7 GB where their float32 take
  20 GB.
* ``add_windows`` encodes analyses from the store a block at a time (memory stays flat);
  ``gone_selector`` names every window of analyses to remove in one pass.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.progress import Progress, ProgressFn
from emotion.search_index_files import faiss_module

if TYPE_CHECKING:
    import faiss

# The coarse quantizer: about 2·√N lists (at most 4096: adding a window costs a product
# with every list's centre, and 10 M windows × 8192 lists took too long on two cores), at
# least this many training vectors per list, k-means iterations, and a cap on the training
# sample (its vectors are in memory).
MAX_LIST_COUNT = 4096
TRAIN_PER_LIST = 40
KMEANS_ITERATIONS = 10
MAX_TRAIN = 262_144
ADD_BATCH_ROWS = 65_536  # rows encoded at once when adding: memory stays flat
ROW_BITS = 32


def window_ids(analysis_id: int, rows: np.ndarray) -> np.ndarray:
    """The index's ids of rows of an analysis."""
    return (np.int64(analysis_id) << ROW_BITS) | rows.astype(np.int64)


def split_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids → (analysis ids, rows)."""
    return ids >> ROW_BITS, ids & ((1 << ROW_BITS) - 1)


def train_index(
    store: Store,
    records: list[AnalysisRecord],
    total: int,
    dim: int,
    progress: ProgressFn | None,
) -> faiss.IndexIVFPQ:
    """A new, empty index, its lists and product quantizer trained on a sample."""
    faiss = faiss_module()
    nlist, m, nbits, n_train = _shape(total, dim)
    if progress is not None:
        progress(Progress("index", 0.0, f"training the search index on {n_train:,} windows"))
    sample = _sample(store, records, n_train, total)
    kmeans = faiss.Kmeans(
        dim,
        nlist,
        niter=KMEANS_ITERATIONS,
        seed=1,
        spherical=True,
        min_points_per_centroid=1,
        max_points_per_centroid=1 << 30,
    )
    kmeans.train(sample)
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(kmeans.centroids)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()  # the index frees it
    index.pq.cp.min_points_per_centroid = 1  # small libraries: no warnings on stderr
    index.pq.cp.max_points_per_centroid = 1 << 30
    index.train(sample)  # the product quantizer, on the residuals (the lists are set)
    return index


def _shape(total: int, dim: int) -> tuple[int, int, int, int]:
    """(lists, PQ bytes, bits per PQ code, training vectors) for a library of ``total``."""
    nlist = 2 ** round(math.log2(max(1.0, 2 * math.sqrt(total))))
    nlist = max(1, min(nlist, MAX_LIST_COUNT, total // TRAIN_PER_LIST))
    n_train = min(total, MAX_TRAIN, max(nlist * TRAIN_PER_LIST, 256 * TRAIN_PER_LIST))
    # 8 bits (256 centroids per sub-vector) once the sample can train them; fewer below
    nbits = max(1, min(8, int(math.log2(max(2, n_train // TRAIN_PER_LIST)))))
    m = max(d for d in range(1, max(1, dim // 8) + 1) if dim % d == 0)
    return nlist, m, nbits, n_train


def _sample(store: Store, records: list[AnalysisRecord], n: int, total: int) -> np.ndarray:
    """``n`` rows drawn evenly (fixed seed) from the analyses, without holding them all."""
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(total, size=n, replace=False))
    out = np.empty((n, records[0].dim), dtype=np.float32)
    start = filled = 0
    for record in sorted(records, key=lambda r: r.id):
        lo, hi = np.searchsorted(chosen, [start, start + record.n_done])
        if hi > lo:
            rows = chosen[lo:hi] - start
            block = store.vector_rows(record, int(rows[0]), int(rows[-1]) + 1)
            out[filled : filled + hi - lo] = block[rows - rows[0]]
            del block
            filled += hi - lo
        start += record.n_done
    return out


def add_windows(
    store: Store,
    index: faiss.IndexIVFPQ,
    records: list[AnalysisRecord],
    progress: ProgressFn | None,
) -> None:
    """Encode every window of ``records`` into ``index``, a batch of rows at a time."""
    total = sum(r.n_done for r in records)
    done = 0
    for record in sorted(records, key=lambda r: r.id):
        for first in range(0, record.n_done, ADD_BATCH_ROWS):
            stop = min(first + ADD_BATCH_ROWS, record.n_done)
            block = np.ascontiguousarray(store.vector_rows(record, first, stop))
            index.add_with_ids(block, window_ids(record.id, np.arange(first, stop)))
            del block
            done += stop - first
            if progress is not None:
                progress(Progress("index", done / max(total, 1), f"{done:,}/{total:,} windows"))


def gone_selector(analysis_ids: list[int], entries: dict[int, tuple[int, float]]) -> Any:
    """A selector of every indexed window of these analyses (faiss removes them in one pass)."""
    ids = np.concatenate([window_ids(a, np.arange(entries[a][0])) for a in analysis_ids])
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    selector = faiss_module().IDSelectorBatch(len(ids), faiss_module().swig_ptr(ids))
    selector.ids = ids  # the selector reads them while faiss removes: keep them alive
    return selector
