"""The on-disk form of a model's search index: its folder, manifest, writes, lease and reads.

* Per model, under ``$HYPELINE_HOME/index/<model>/``: ``index-<token>.faiss`` and
  ``manifest.json``, which names that file and lists what it holds (each analysis's row
  count and creation time, which ``search_index`` compares with the store at every search).
* A new index goes to a new file, then the manifest is written, last and atomically, so
  readers see the old index or the new one; an old file is unlinked (a reader that opened
  it keeps reading). Writers hold the folder's lease (``index.lock``): one writer, a busy
  writer is skipped.
* Files that cannot be read, or a manifest that does not match its file, are marked
  ``broken`` with a note (``search_index`` rebuilds them); never a crash.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion import atomic
from emotion.lease import Lease, try_acquire

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)

FORMAT = 1

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


def index_dir(home: Path, model: str) -> Path:
    """The folder of a model's index: a readable name and a hash (model names are paths)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[-40:] or "model"
    return home / "index" / f"{readable}-{sha1(model.encode()).hexdigest()[:10]}"


class IndexFiles:
    """A model's index as last read from (or written to) its folder: the faiss index and
    what it holds, ``entries`` (analysis id → (rows, created))."""

    def __init__(self, home: Path, model: str, dim: int):
        self.home = home
        self.model = model
        self.dim = dim
        self.folder = index_dir(home, model)
        self.index: faiss.IndexIVFPQ | None = None
        self.entries: dict[int, tuple[int, float]] = {}  # analysis id → (rows, created)
        self.trained_on = 0
        self.file = ""
        self._seen: tuple[int, int, int] | None = None  # the manifest's (inode, mtime, size)
        self.broken = False  # the files on disk could not be read: rebuild on next sync

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def refresh(self, on_note: NoteFn | None) -> None:
        """Load the index from disk when its manifest is not the one loaded (another
        process wrote it, or nothing is loaded yet)."""
        for _ in range(3):  # a writer may replace the file between manifest and read
            try:
                st = self.manifest_path.stat()
            except FileNotFoundError:
                self.drop()
                return
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            try:
                manifest = read_manifest(self.manifest_path)
                if manifest["model"] != self.model or manifest["dim"] != self.dim:
                    raise ValueError("the manifest is another model's")
                index = faiss_module().read_index(str(self.folder / manifest["file"]))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
                self.drop()
                self._seen, self.broken = seen, True
                note(
                    on_note,
                    f"The search index of {self.model} could not be read ({reason(e)}); "
                    "rebuilding it.",
                )
                return
            entries = {int(a): (int(n), float(c)) for a, (n, c) in manifest["analyses"].items()}
            if index.ntotal != sum(n for n, _ in entries.values()) or index.d != self.dim:
                self.drop()
                self._seen, self.broken = seen, True
                note(
                    on_note,
                    f"The search index of {self.model} does not match its manifest; rebuilding it.",
                )
                return
            self.index, self.entries, self._seen = index, entries, seen
            self.trained_on, self.file, self.broken = (
                manifest["trained_on"],
                manifest["file"],
                False,
            )
            return

    def lease(self) -> Lease | None:
        """The folder's writer lease, or None when another process holds it (is writing)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return try_acquire(self.folder / "index.lock")

    def write(
        self, index: faiss.IndexIVFPQ, entries: dict[int, tuple[int, float]], trained_on: int
    ) -> None:
        """Write ``index`` holding ``entries`` (under the lease): a new file, then the manifest."""
        name = f"index-{secrets.token_hex(6)}.faiss"
        with atomic.replacing(self.folder / name) as tmp:
            faiss_module().write_index(index, str(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        analyses = {str(a): [n, c] for a, (n, c) in sorted(entries.items())}
        manifest = {
            "format": FORMAT,
            "model": self.model,
            "dim": self.dim,
            "nlist": index.nlist,
            "m": index.pq.M,
            "nbits": index.pq.nbits,
            "trained_on": trained_on,
            "written": time.time(),
            "file": name,
            "analyses": analyses,
        }
        atomic.write_text(self.manifest_path, json.dumps(manifest))
        for old in self.folder.glob("index-*.faiss"):
            if old.name != name:  # a reader that opened it keeps reading (POSIX)
                with contextlib.suppress(OSError):
                    old.unlink()
        st = self.manifest_path.stat()
        self.index, self.entries, self.trained_on, self.file = index, entries, trained_on, name
        self._seen, self.broken = (st.st_ino, st.st_mtime_ns, st.st_size), False

    def status(self) -> IndexStatus:
        n_windows = sum(n for n, _ in self.entries.values())
        n_lists = self.index.nlist if self.index is not None else 0
        size = file_size(self.folder / self.file) if self.file else 0
        return IndexStatus(
            self.model, self.folder, len(self.entries), n_windows, n_lists, self.trained_on, size
        )

    def drop(self) -> None:
        """Forget what was loaded: the next ``refresh`` reads the disk again."""
        self.index, self.entries, self.trained_on, self.file, self._seen = None, {}, 0, "", None


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest as written by ``IndexFiles.write``; ValueError for an unknown format."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError("an unknown manifest format")
    return manifest


def faiss_module() -> Any:
    """The faiss module (ImportError where faiss-cpu is not installed)."""
    # Importing faiss takes ~40 ms (python -X importtime, numpy loaded, 28–45 ms over three
    # runs on two cores): only a process that uses an index pays for it, and an install
    # without faiss-cpu still searches (by the exact scan).
    import faiss

    return faiss


def file_size(path: Path) -> int:
    """The file's size in bytes; 0 when it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def reason(e: BaseException) -> str:
    """An exception's first line, short enough for a note."""
    text = str(e).strip().splitlines()
    return text[0][:160] if text else type(e).__name__


def note(on_note: NoteFn | None, text: str) -> None:
    """Tell ``on_note``, or the log when no one listens."""
    if on_note is not None:
        on_note(text)
    else:
        log.warning(text)
