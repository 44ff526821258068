"""The library's vector files: ``embeddings/<analysis id>.f32``, one per analysis.

Each holds the window embeddings, ``[n_windows, dim]`` float32, appended batch by batch.
A batch is fsynced before the database counts it, so after a kill the file is cut back to
the count and the run resumes from there. Readers take exactly the counted vectors, so
they never see half a batch; the file is checked against its record when read (a
``StoreError`` when it disagrees) and cut back under the lease (``cut``), never scored
wrong. The lease file, ``embeddings/<analysis id>.lock``, lives beside it.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from pathlib import Path

import numpy as np

from emotion.errors import StoreError
from emotion.library.records import AnalysisRecord


class VectorFiles:
    """The vector and lease files of every analysis, in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, analysis_id: int) -> Path:
        return self.folder / f"{analysis_id}.f32"

    def lock_path(self, analysis_id: int) -> Path:
        return self.folder / f"{analysis_id}.lock"

    def size(self, analysis_id: int) -> int:
        """Bytes in the analysis's vector file (0 when it has none yet)."""
        try:
            return self.path(analysis_id).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, analysis_id: int, dim: int, vectors: np.ndarray) -> None:
        """Write the next windows' vectors and fsync them (before the database counts them)."""
        data = np.ascontiguousarray(vectors, dtype="<f4")
        assert data.ndim == 2 and data.shape[1] == dim
        with open(self.path(analysis_id), "ab") as f:
            f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())

    def cut(self, record: AnalysisRecord) -> tuple[int, str | None] | None:
        """Cut the file to the vectors of ``record`` it can keep: how many, and a note for the
        user if any; None when the file matches the record.

        Bytes past the count of a running analysis are a killed run's uncounted batch and
        go silently. Missing bytes keep the whole vectors before them. A complete analysis
        with bytes past its count had a second writer (libraries from before leases), so
        its vectors are in no trustworthy order and none are kept.
        """
        size = self.size(record.id)
        vector_bytes = record.dim * 4
        expected = record.n_done * vector_bytes
        if size == expected:
            return None
        note = None
        if size < expected:
            keep = size // vector_bytes
            note = (
                f"The stored vectors of {record.source.title} were missing "
                f"{record.n_done - keep} of its {record.n_done} windows; embedding them again."
            )
        elif not record.complete:
            keep = record.n_done
        else:
            keep = 0
            note = (
                f"The stored vectors of {record.source.title} had {size - expected} bytes more "
                f"than its {record.n_done} windows (a second writer); embedding it again."
            )
        if size > keep * vector_bytes:
            with open(self.path(record.id), "r+b") as f:
                f.truncate(keep * vector_bytes)
                os.fsync(f.fileno())
        return keep, note

    def read(self, record: AnalysisRecord) -> np.ndarray:
        """The counted ``[n_done, dim]`` vectors, read into memory."""
        buf = bytearray(record.n_done * record.dim * 4)
        try:
            with open(self.path(record.id), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                got = f.readinto(buf) if damage(record, size) is None else 0
        except FileNotFoundError:
            size = got = 0
        found = damage(record, size)
        if found is None and got != len(buf):  # a repair truncated it after the fstat
            found = damage(record, got)
        if found is not None:
            raise StoreError(found)
        return np.frombuffer(buf, dtype="<f4").reshape(record.n_done, record.dim)

    def rows(self, record: AnalysisRecord, first: int, stop: int) -> np.ndarray:
        """Rows ``first:stop`` of the counted vectors, memory-mapped read-only."""
        assert 0 <= first <= stop <= record.n_done
        if (found := damage(record, self.size(record.id))) is not None:
            raise StoreError(found)
        if first == stop:
            return np.zeros((0, record.dim), dtype="<f4")
        offset = first * record.dim * 4
        shape = (stop - first, record.dim)
        return np.memmap(self.path(record.id), dtype="<f4", mode="r", offset=offset, shape=shape)

    def at(self, record: AnalysisRecord, rows: np.ndarray) -> np.ndarray:
        """A copy of the counted vectors at ``rows``, through one plain mapping of the file."""
        if len(rows) == 0:
            return np.zeros((0, record.dim), dtype="<f4")
        assert rows.min() >= 0 and rows.max() < record.n_done
        counted_bytes = record.n_done * record.dim * 4
        try:
            with open(self.path(record.id), "rb") as f:
                if (found := damage(record, os.fstat(f.fileno()).st_size)) is not None:
                    raise StoreError(found)
                with mmap.mmap(f.fileno(), counted_bytes, access=mmap.ACCESS_READ) as m:
                    view = np.frombuffer(m, dtype="<f4").reshape(record.n_done, record.dim)
                    out = view[rows]
                    del view  # the mapping closes only once no array looks into it
        except FileNotFoundError:
            raise StoreError(damage(record, 0) or "") from None
        return out

    def remove(self, analysis_id: int) -> list[Path]:
        """Delete the analysis's vector and lease files; the paths removed."""
        removed: list[Path] = []
        for path in (self.path(analysis_id), self.lock_path(analysis_id)):
            with contextlib.suppress(OSError):  # gone already; Windows keeps a held lock
                path.unlink()
                removed.append(path)
        return removed


def damage(record: AnalysisRecord, size: int) -> str | None:
    """Why ``size`` bytes on disk do not match ``record``, in one sentence; None when they do.

    A running analysis may have bytes past its count (a batch being written, or one a
    killed run never counted); a complete one must be exactly ``n_done × dim × 4``.
    """
    expected = record.n_done * record.dim * 4
    if size == expected or (size > expected and not record.complete):
        return None
    return (
        f"The stored vectors of {record.source.title} do not match its record ({size} bytes "
        f"on disk for {record.n_done} windows of {record.dim} numbers); analyse it again "
        "to repair it."
    )
