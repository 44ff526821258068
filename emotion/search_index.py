"""An approximate index per model, so that search over a whole archive stays instant.

An exact scan reads every stored vector (0.7 s at 2 M windows); the index reads a few
per cent of 64-byte codes instead and names the candidates, which ``search`` then scores
exactly from the stored vectors, so every hit's score is the exact cosine.

* The index (``search_index_build``): faiss IVF-PQ over inner product, 64 B a window at
  512 dims; a window's id is ``analysis id << 32 | row``.
* On disk (``search_index_files``): per model, an index file and a manifest of what it
  holds, written atomically under the folder's lease (one writer; a busy one is skipped).
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

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.progress import Progress, ProgressFn
from emotion.search_index_build import add_windows, gone_selector, train_index
from emotion.search_index_files import (
    IndexFiles,
    IndexStatus,
    NoteFn,
    faiss_module,
    file_size,
    index_dir,
    note,
    read_manifest,
    reason,
)

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
            faiss_module()
        except ImportError:  # an install without it: slower, never wrong (said once)
            if not _told_no_faiss:
                _told_no_faiss.append(True)
                note(
                    on_note,
                    "faiss-cpu is not installed, so the search scans every window; "
                    "install it with pip install faiss-cpu.",
                )
            return Coverage(index, {}, 0)
        index.refresh(on_note)
        current = _indexable(library, model, dim)
        if index.needs_write(current):
            try:
                index.sync(store, current, None, on_note)
            except OSError as e:  # a full disk: the search goes on, scanning what is not held
                note(
                    on_note,
                    f"The search index of {model} could not be written ({reason(e)}); "
                    f"free some space in {store.home} or make it writable.",
                )
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
    folder = index_dir(store.home, model)
    try:
        manifest = read_manifest(folder / "manifest.json")
    except (OSError, ValueError):
        return None
    analyses = manifest["analyses"]
    n_windows = sum(n for n, _ in analyses.values())
    size = file_size(folder / manifest["file"])
    return IndexStatus(
        model, folder, len(analyses), n_windows, manifest["nlist"], manifest["trained_on"], size
    )


class ModelIndex(IndexFiles):
    """A model's index as this process holds it (one per library and model; thread-safe
    through ``lock``, which every caller holds): what it answers for, and its upkeep."""

    def __init__(self, home: Path, model: str, dim: int):
        super().__init__(home, model, dim)
        self.lock = threading.RLock()

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

    def needs_write(self, current: dict[int, AnalysisRecord]) -> bool:
        """Whether the rules call for a sync now: no index yet (or a broken one), too many
        windows pending, or a library that outgrew its training."""
        total = sum(r.n_done for r in current.values())
        if not current:
            return False
        if self.index is None or self.broken:
            return True
        covered = self.covered(current)
        pending = sum(r.n_done for aid, r in current.items() if aid not in covered)
        gone = sum(n for aid, (n, _) in self.entries.items() if aid not in covered)
        return pending + gone > PENDING_MAX_WINDOWS or total > RETRAIN_GROWTH * self.trained_on

    def to_index(self, current: dict[int, AnalysisRecord]) -> int:
        """The windows a sync now would encode: all of them when it trains (as ``_sync``
        decides), else those of the analyses the index does not hold as they are."""
        total = sum(r.n_done for r in current.values())
        if self.index is None or self.broken or total > RETRAIN_GROWTH * self.trained_on:
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
        lease = self.lease()
        if lease is None:
            return False
        with lease:
            try:
                self._sync(store, current, progress, on_note)
            except BaseException:
                self.drop()  # what is in memory may be half changed: read the disk again
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
        if self.index is None or self.broken or total > RETRAIN_GROWTH * self.trained_on:
            index, covered = (
                train_index(store, list(current.values()), total, self.dim, progress),
                {},
            )
            trained_on = total
        else:
            index, trained_on = self.index, self.trained_on
            gone = [aid for aid in self.entries if aid not in covered]
            if gone:
                index.remove_ids(gone_selector(gone, self.entries))
        adding = [r for aid, r in current.items() if aid not in covered]
        if not adding and len(covered) == len(self.entries) and index is self.index:
            return  # nothing changed
        add_windows(store, index, adding, progress)
        entries = {aid: (r.n_done, r.created) for aid, r in current.items()}
        self.write(index, entries, trained_on)


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
