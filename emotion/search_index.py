"""An approximate index per model, so that search over a whole archive stays instant.

An exact scan reads every stored vector (0.7 s at 2 M windows); the index reads a few
per cent of 64-byte codes instead and names the candidates, which ``search`` then scores
exactly from the stored vectors, so every hit's score is the exact cosine.

* The index: faiss IVF-PQ over inner product (unit vectors: cosine). A spherical k-means
  coarse quantizer of ``nlist`` lists (about 2·√N, ≤ 4096) and product quantization of the
  residuals to ``dim / 8`` bytes a vector: 64 B at 512 dims, so 10 M windows take ~0.7 GB
  where their float32 take 20 GB. A window's id is ``analysis id << 32 | row``.
* On disk, per model, under ``$HYPELINE_HOME/index/<model>/``: ``index-<token>.faiss``
  and ``manifest.json``, which names that file and lists what it holds (each analysis's
  row count and creation time, compared with the store at every search).
  The manifest is written last, atomically, so readers see the old index or the new one.
  Writers hold the folder's lease (``index.lock``): one writer, a busy writer is skipped.
* Kept true to the library: every search compares the manifest with the store's complete
  analyses. An analysis deleted or changed since (by this process or another) is
  filtered out of the candidates at once; one added since (and running analyses, which
  grow) is scanned exactly beside the index, until ``PENDING_MAX_WINDOWS`` windows are
  pending: then they are added (and the gone ones removed) and the index is written. So
  the index is built incrementally as analyses land, without a write per VOD.
* Trained once, on a sample, when the library of a model first reaches
  ``INDEX_MIN_WINDOWS`` (or when the index is forced on a smaller one); trained again
  from scratch when the library has grown ``RETRAIN_GROWTH`` times past what it was
  trained on, or when the files cannot be read (a note says so; never a crash).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion import atomic
from emotion.lease import try_acquire
from emotion.library.store import AnalysisRecord, Store
from emotion.progress import Progress, ProgressFn

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)

# A model's library below this many windows is scanned exactly: 200 k windows scan in about
# 70 ms on two cores, and an index would only add a build and a file.
INDEX_MIN_WINDOWS = 200_000
# Windows of analyses added (or removed) since the index was written that are scanned
# exactly (or filtered out) before the index takes them in: ten 3 h VODs, ~10 ms to scan.
PENDING_MAX_WINDOWS = 20_000
# The library grown this many times past what the index was trained on: train again
# (the lists would be too long for the latency the nprobe was chosen for).
RETRAIN_GROWTH = 8
# Lists probed per query, and candidates fetched per window the search wants: generous,
# since an exact re-rank of a few thousand rows costs a few milliseconds (bench_search.py:
# recall@20 1.0 at 2 M windows).
NPROBE = 64
CANDIDATE_FACTOR = 8
MIN_CANDIDATES = 4096
MAX_CANDIDATES = 65_536
# The coarse quantizer: about 2·√N lists (at most 4096: adding a window costs a product
# with every list's centre, and 10 M windows × 8192 lists took too long on two cores), at
# least this many training vectors per list, k-means iterations, and a cap on the training
# sample (its vectors are in memory).
MAX_LIST_COUNT = 4096
TRAIN_PER_LIST = 40
KMEANS_ITERATIONS = 10
MAX_TRAIN = 262_144
ADD_BATCH_ROWS = 65_536  # rows encoded at once when adding: memory stays flat
FORMAT = 1
ROW_BITS = 32

NoteFn = Callable[[str], None]


@dataclass(frozen=True)
class IndexStatus:
    """What a model's index on disk holds."""

    model: str
    path: Path  # the index's folder
    n_analyses: int
    n_windows: int
    n_lists: int
    trained_on: int  # windows in the library when it was trained
    bytes: int  # the index file's size


@dataclass(frozen=True)
class Coverage:
    """What the index answers for in one search: analysis id → its indexed row count."""

    index: ModelIndex
    covered: dict[int, int]
    n_indexed: int  # windows in the index (the analyses gone since included)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        """Ids of the ``k`` best codes; an analysis not in ``covered`` may be among them."""
        with self.index.lock:
            return self.index.search(vector, k)


def window_ids(analysis_id: int, rows: np.ndarray) -> np.ndarray:
    """The index's ids of rows of an analysis."""
    return (np.int64(analysis_id) << ROW_BITS) | rows.astype(np.int64)


def split_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids → (analysis ids, rows)."""
    return ids >> ROW_BITS, ids & ((1 << ROW_BITS) - 1)


def index_dir(home: Path, model: str) -> Path:
    """The folder of a model's index: a readable name and a hash (model names are paths)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[-40:] or "model"
    return home / "index" / f"{readable}-{sha1(model.encode()).hexdigest()[:10]}"


def coverage(
    store: Store,
    model: str,
    dim: int,
    library: Sequence[AnalysisRecord],
    on_note: NoteFn | None = None,
) -> Coverage:
    """The index of ``model`` brought in line with ``library`` (every analysis in the store),
    trained, extended or written only when the module's rules say so."""
    index = _model_index(store, model, dim)
    with index.lock:
        try:
            _faiss()
        except ImportError:  # an install without it: slower, never wrong (said once)
            if not _told_no_faiss:
                _told_no_faiss.append(True)
                _note(on_note, "faiss-cpu is not installed, so the search scans every "
                      "window; install it with pip install faiss-cpu.")  # fmt: skip
            return Coverage(index, {}, 0)
        index.refresh(on_note)
        current = _indexable(library, model, dim)
        if index.needs_write(current):
            try:
                index.sync(store, current, None, on_note)
            except OSError as e:  # a full disk: the search goes on, scanning what is not held
                _note(on_note, f"The search index of {model} could not be written ({_reason(e)}); "
                      f"free some space in {store.home} or make it writable.")  # fmt: skip
        covered = index.covered(current)
        return Coverage(index, covered, index.index.ntotal if index.index is not None else 0)


def update(
    store: Store,
    model: str,
    progress: ProgressFn | None = None,
    on_note: NoteFn | None = None,
    only_if_due: bool = False,
) -> IndexStatus | None:
    """Bring the index of ``model`` up to date with the library now and write it; None when
    the library has no complete analysis of it, or another process is writing the index
    (it will hold these analyses too). ``only_if_due`` (a batch, after each VOD): only
    when a search would — the library reached ``INDEX_MIN_WINDOWS`` with no index yet, or
    ``PENDING_MAX_WINDOWS`` wait — so that a batch writes the index every ten VODs or so.

    Before it trains or adds, ``on_note`` and ``progress`` hear ``indexing N windows for
    search…``; when there is nothing to do, it costs one listing of the library (about 1 ms
    for a few analyses, 20 ms for a thousand) and nothing is written."""
    library = store.analyses()
    records = [r for r in library if r.model == model and r.complete and r.n_done > 0]
    if not records:
        return None
    index = _model_index(store, model, records[0].dim)
    with index.lock:
        index.refresh(on_note)
        current = _indexable(library, model, index.dim)
        if only_if_due and (
            not index.needs_write(current)
            or (index.index is None and sum(r.n_done for r in records) < INDEX_MIN_WINDOWS)
        ):
            return index.status() if index.index is not None else None
        if (n := index.to_index(current)) > 0:
            text = f"indexing {n:,} windows for search…"
            if on_note is not None:
                on_note(text)
            if progress is not None:
                progress(Progress("index", 0.0, text))
        if not index.sync(store, current, progress, on_note):
            return None
        return index.status()


def status(store: Store, model: str) -> IndexStatus | None:
    """The index of ``model`` as it is on disk, or None when there is none (or it is unreadable)."""
    try:
        manifest = _read_manifest(index_dir(store.home, model) / "manifest.json")
    except (OSError, ValueError):
        return None
    folder = index_dir(store.home, model)
    analyses = manifest["analyses"]
    return IndexStatus(
        model, folder, len(analyses), sum(n for n, _ in analyses.values()),
        manifest["nlist"], manifest["trained_on"], _size(folder / manifest["file"]),
    )  # fmt: skip


class ModelIndex:
    """A model's index as this process holds it (one per library and model; thread-safe
    through ``lock``, which every caller holds)."""

    def __init__(self, home: Path, model: str, dim: int):
        self.home = home
        self.model = model
        self.dim = dim
        self.folder = index_dir(home, model)
        self.lock = threading.RLock()
        self.index: faiss.IndexIVFPQ | None = None
        self.entries: dict[int, tuple[int, float]] = {}  # analysis id → (rows, created)
        self.trained_on = 0
        self.file = ""
        self._seen: tuple[int, int, int] | None = None  # the manifest's (inode, mtime, size)
        self._broken = False  # the files on disk could not be read: rebuild on next sync

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    # --- reading -------------------------------------------------------------------------

    def refresh(self, on_note: NoteFn | None) -> None:
        """Load the index from disk when its manifest is not the one loaded (another
        process wrote it, or nothing is loaded yet)."""
        for _ in range(3):  # a writer may replace the file between manifest and read
            try:
                st = self.manifest_path.stat()
            except FileNotFoundError:
                self._drop()
                return
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            try:
                manifest = _read_manifest(self.manifest_path)
                if manifest["model"] != self.model or manifest["dim"] != self.dim:
                    raise ValueError("the manifest is another model's")
                index = _faiss().read_index(str(self.folder / manifest["file"]))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
                self._drop()
                self._seen, self._broken = seen, True
                _note(
                    on_note,
                    f"The search index of {self.model} could not be read ({_reason(e)}); "
                    "rebuilding it.",
                )
                return
            entries = {int(a): (int(n), float(c)) for a, (n, c) in manifest["analyses"].items()}
            if index.ntotal != sum(n for n, _ in entries.values()) or index.d != self.dim:
                self._drop()
                self._seen, self._broken = seen, True
                _note(
                    on_note,
                    f"The search index of {self.model} does not match its manifest; rebuilding it.",
                )
                return
            self.index, self.entries, self._seen = index, entries, seen
            self.trained_on, self.file, self._broken = (
                manifest["trained_on"],
                manifest["file"],
                False,
            )
            return

    def covered(self, current: dict[int, AnalysisRecord]) -> dict[int, int]:
        """The analyses the index answers for: indexed as they are now in the library."""
        if self.index is None:
            return {}
        return {
            aid: n
            for aid, (n, created) in self.entries.items()
            if (r := current.get(aid)) is not None and (r.n_done, r.created) == (n, created)
        }

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        """The ids of the ``k`` nearest codes (by the codes' approximate inner product)."""
        assert self.index is not None
        self.index.nprobe = NPROBE
        _, ids = self.index.search(vector.reshape(1, -1).astype(np.float32), k)
        found: np.ndarray = ids[0]
        return found[found >= 0]

    # --- writing -------------------------------------------------------------------------

    def needs_write(self, current: dict[int, AnalysisRecord]) -> bool:
        """Whether the rules call for a sync now: no index yet (or a broken one), too many
        windows pending, or a library that outgrew its training."""
        total = sum(r.n_done for r in current.values())
        if not current:
            return False
        if self.index is None or self._broken:
            return True
        covered = self.covered(current)
        pending = sum(r.n_done for aid, r in current.items() if aid not in covered)
        gone = sum(n for aid, (n, _) in self.entries.items() if aid not in covered)
        return pending + gone > PENDING_MAX_WINDOWS or total > RETRAIN_GROWTH * self.trained_on

    def to_index(self, current: dict[int, AnalysisRecord]) -> int:
        """The windows a sync now would encode: all of them when it trains (as ``_sync``
        decides), else those of the analyses the index does not hold as they are."""
        total = sum(r.n_done for r in current.values())
        if self.index is None or self._broken or total > RETRAIN_GROWTH * self.trained_on:
            return total
        covered = self.covered(current)
        return sum(r.n_done for aid, r in current.items() if aid not in covered)

    def sync(
        self,
        store: Store,
        current: dict[int, AnalysisRecord],
        progress: ProgressFn | None,
        on_note: NoteFn | None,
    ) -> bool:
        """Make the index hold exactly ``current`` and write it; False when another
        process holds the index's lease (it is writing it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lease = try_acquire(self.folder / "index.lock")
        if lease is None:
            return False
        with lease:
            try:
                self._sync(store, current, progress, on_note)
            except BaseException:
                self._drop()  # what is in memory may be half changed: read the disk again
                raise
        return True

    def _sync(
        self,
        store: Store,
        current: dict[int, AnalysisRecord],
        progress: ProgressFn | None,
        on_note: NoteFn | None,
    ) -> None:
        self.refresh(on_note)  # what the last writer left, under the lease
        total = sum(r.n_done for r in current.values())
        covered = self.covered(current)
        if self.index is None or self._broken or total > RETRAIN_GROWTH * self.trained_on:
            index, covered = self._train(store, list(current.values()), total, progress), {}
            trained_on = total
        else:
            index, trained_on = self.index, self.trained_on
            gone = [aid for aid in self.entries if aid not in covered]
            if gone:
                index.remove_ids(_gone(gone, self.entries))
        adding = [r for aid, r in current.items() if aid not in covered]
        if not adding and len(covered) == len(self.entries) and index is self.index:
            return  # nothing changed
        _add(store, index, adding, progress)
        entries = {aid: (r.n_done, r.created) for aid, r in current.items()}
        self._write(index, entries, trained_on)

    def _train(
        self,
        store: Store,
        records: list[AnalysisRecord],
        total: int,
        progress: ProgressFn | None,
    ) -> faiss.IndexIVFPQ:
        faiss = _faiss()
        nlist, m, nbits, n_train = _shape(total, self.dim)
        if progress is not None:
            progress(Progress("index", 0.0, f"training the search index on {n_train:,} windows"))
        sample = _sample(store, records, n_train, total)
        kmeans = faiss.Kmeans(
            self.dim, nlist, niter=KMEANS_ITERATIONS, seed=1, spherical=True,
            min_points_per_centroid=1, max_points_per_centroid=1 << 30,
        )  # fmt: skip
        kmeans.train(sample)
        quantizer = faiss.IndexFlatIP(self.dim)
        quantizer.add(kmeans.centroids)
        index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()  # the index frees it
        index.pq.cp.min_points_per_centroid = 1  # small libraries: no warnings on stderr
        index.pq.cp.max_points_per_centroid = 1 << 30
        index.train(sample)  # the product quantizer, on the residuals (the lists are set)
        return index

    def _write(
        self, index: faiss.IndexIVFPQ, entries: dict[int, tuple[int, float]], trained_on: int
    ) -> None:
        faiss = _faiss()
        name = f"index-{secrets.token_hex(6)}.faiss"
        with atomic.replacing(self.folder / name) as tmp:
            faiss.write_index(index, str(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        nlist = index.nlist
        manifest = {
            "format": FORMAT, "model": self.model, "dim": self.dim, "nlist": nlist,
            "m": index.pq.M, "nbits": index.pq.nbits, "trained_on": trained_on,
            "written": time.time(), "file": name,
            "analyses": {str(a): [n, c] for a, (n, c) in sorted(entries.items())},
        }  # fmt: skip
        atomic.write_text(self.manifest_path, json.dumps(manifest))
        for old in self.folder.glob("index-*.faiss"):
            if old.name != name:  # a reader that opened it keeps reading (POSIX)
                with contextlib.suppress(OSError):
                    old.unlink()
        st = self.manifest_path.stat()
        self.index, self.entries, self.trained_on, self.file = index, entries, trained_on, name
        self._seen, self._broken = (st.st_ino, st.st_mtime_ns, st.st_size), False

    def status(self) -> IndexStatus:
        return IndexStatus(
            self.model, self.folder, len(self.entries), sum(n for n, _ in self.entries.values()),
            self.index.nlist if self.index is not None else 0, self.trained_on,
            _size(self.folder / self.file) if self.file else 0,
        )  # fmt: skip

    def _drop(self) -> None:
        self.index, self.entries, self.trained_on, self.file, self._seen = None, {}, 0, "", None


_indexes: dict[tuple[str, str], ModelIndex] = {}
_told_no_faiss: list[bool] = []
_indexes_guard = threading.Lock()


def _model_index(store: Store, model: str, dim: int) -> ModelIndex:
    key = (str(store.home.resolve()), model)
    with _indexes_guard:
        index = _indexes.get(key)
        if index is None or index.dim != dim:
            index = _indexes[key] = ModelIndex(store.home, model, dim)
        return index


def _indexable(
    library: Sequence[AnalysisRecord], model: str, dim: int
) -> dict[int, AnalysisRecord]:
    """The analyses an index holds: complete ones (a running one still grows)."""
    return {
        r.id: r for r in library if r.model == model and r.dim == dim and r.complete and r.n_done
    }


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


def _add(
    store: Store,
    index: faiss.IndexIVFPQ,
    records: list[AnalysisRecord],
    progress: ProgressFn | None,
) -> None:
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


def _gone(analysis_ids: list[int], entries: dict[int, tuple[int, float]]) -> Any:
    """A selector of every indexed window of these analyses (faiss removes them in one pass)."""
    ids = np.concatenate([window_ids(a, np.arange(entries[a][0])) for a in analysis_ids])
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    selector = _faiss().IDSelectorBatch(len(ids), _faiss().swig_ptr(ids))
    selector.ids = ids  # the selector reads them while faiss removes: keep them alive
    return selector


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError("an unknown manifest format")
    return manifest


def _faiss() -> Any:
    # faiss loads its library in ~0.1 s: only searches that use an index pay for it.
    import faiss

    return faiss


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:160] if text else type(e).__name__


def _note(on_note: NoteFn | None, text: str) -> None:
    if on_note is not None:
        on_note(text)
    else:
        log.warning(text)
