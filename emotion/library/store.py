"""The library of analysed VODs under ``HYPELINE_HOME``: resumable, written as we go.

* ``library.sqlite`` — sources, analyses (model, window, hop, status, progress),
  highlight reviews and trims (a highlight's edges moved by hand, keyed as its review).
* ``embeddings/<analysis id>.f32`` — the window embeddings, ``[n_windows, dim]`` float32
  appended batch by batch. A batch is fsynced before the database counts it, so after a
  kill the file is cut back to the count and the run resumes from there.
* ``embeddings/<analysis id>.lock`` — the analysis's lease (``emotion.lease``): only its
  holder appends, finishes or repairs; anyone may read.

Many processes share one library. SQLite runs in WAL mode with a busy timeout and every
call is one short transaction, so readers (pages, re-scoring, search) never block the
writer. Readers take exactly the counted vectors, so they never see half a batch; the
file is checked against the count when read (``check``) and repaired under the lease
(``repair``), never scored wrong.

An analysis is keyed by (source identity, audio track, model, window_s, hop_s): labels,
template and thresholds are not part of the key — changing them re-scores the stored
vectors. The schema carries a version (``PRAGMA user_version``); older libraries are
migrated in place when opened.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from emotion.errors import BusyError, StoreError
from emotion.lease import Lease, try_acquire
from emotion.library.records import AnalysisRecord, ChatRecord, Review, Trim, review_key
from emotion.library.schema import SCHEMA_VERSION, SELECT_RECORD, migrate, to_record, use_wal
from emotion.media.source import Source
from emotion.paths import hypeline_home

# The library's names, importable from here as they always were.
__all__ = [
    "SCHEMA_VERSION", "AnalysisRecord", "ChatRecord", "Review", "Store", "Trim", "review_key",
]  # fmt: skip

# How long a call waits for another process's transaction; ours last milliseconds.
BUSY_TIMEOUT_S = 30.0


class Store:
    """The on-disk library; each call opens its own short SQLite connection (thread-safe)."""

    def __init__(self, home: Path | None = None):
        self.home = home or hypeline_home()
        self.vectors_dir = self.home / "embeddings"
        self.vectors_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "library.sqlite"
        with self._db() as db:
            use_wal(db)
            migrate(db)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S)
        db.row_factory = sqlite3.Row
        try:
            with db:  # one transaction
                yield db
        finally:
            db.close()

    def open_analysis(
        self,
        source: Source,
        identity: str,
        model: str,
        window_s: float,
        hop_s: float,
        dim: int,
        audio_track: int = 1,
        precision: str = "fp32",
        kind: str = "vod",
        published: float | None = None,
    ) -> AnalysisRecord:
        """The analysis for this key, created if new (the database only: files are the lease's)."""
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO sources (identity, title, path, url, uploader, duration_s, "
                "has_video, fps, created, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(identity) DO UPDATE SET title=excluded.title, path=excluded.path, "
                "url=excluded.url, uploader=excluded.uploader, duration_s=excluded.duration_s, "
                "has_video=excluded.has_video, fps=excluded.fps, "
                "published=COALESCE(excluded.published, published)",
                (identity, source.title, str(source.path), source.url, source.uploader,
                 source.duration_s, int(source.has_video), source.fps, now, published),
            )  # fmt: skip
            (source_id,) = db.execute(
                "SELECT id FROM sources WHERE identity = ?", (identity,)
            ).fetchone()
            db.execute(
                "INSERT OR IGNORE INTO analyses (source_id, audio_track, model, window_s, hop_s, "
                "precision, kind, dim, status, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (source_id, audio_track, model, window_s, hop_s, precision, kind, dim, now, now),
            )
            (analysis_id,) = db.execute(
                "SELECT id FROM analyses WHERE source_id = ? AND audio_track = ? AND model = ? "
                "AND window_s = ? AND hop_s = ? AND precision = ?",
                (source_id, audio_track, model, window_s, hop_s, precision),
            ).fetchone()
        return self.analysis(analysis_id)

    def lease(self, analysis_id: int) -> Lease | None:
        """The right to write this analysis, or None while another caller holds it."""
        return try_acquire(self._lock(analysis_id))

    def check(self, record: AnalysisRecord) -> str | None:
        """Why the vectors on disk do not match ``record``, in one sentence; None when they do.

        A running analysis may have bytes past its count (a batch being written, or one
        a killed run never counted); a complete one must be exactly ``n_done × dim × 4``.
        """
        return _damage(record, self._size(record.id))

    def repair(self, lease: Lease, analysis_id: int) -> tuple[AnalysisRecord, str | None]:
        """Make the vectors on disk match the record; the repaired record and a note, if any.

        Bytes past the count of a running analysis are a killed run's uncounted batch and
        go silently. Missing bytes keep the whole vectors before them and the analysis
        runs again from there. A complete analysis with bytes past its count had a second
        writer (libraries from before leases), so its vectors are in no trustworthy order
        and it is embedded again from the start.
        """
        self._require(lease, analysis_id)
        record = self.analysis(analysis_id)
        size = self._size(analysis_id)
        vector_bytes = record.dim * 4
        expected = record.n_done * vector_bytes
        if size == expected:
            return record, None
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
        # The file first: a crash before the record is updated leaves a file shorter than
        # its count, which the next repair handles the same way.
        if size > keep * vector_bytes:
            with open(self._vectors(analysis_id), "r+b") as f:
                f.truncate(keep * vector_bytes)
                os.fsync(f.fileno())
        if keep != record.n_done or record.complete:
            with self._db() as db:
                db.execute(
                    "UPDATE analyses SET status = 'running', n_done = ?, updated = ? WHERE id = ?",
                    (keep, time.time(), analysis_id),
                )
        return self.analysis(analysis_id), note

    def append(
        self, lease: Lease, analysis_id: int, dim: int, vectors: np.ndarray, n_done: int
    ) -> None:
        """Persist the next windows' vectors, then count them as done."""
        self._require(lease, analysis_id)
        data = np.ascontiguousarray(vectors, dtype="<f4")
        assert data.ndim == 2 and data.shape[1] == dim
        with open(self._vectors(analysis_id), "ab") as f:
            f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())
        with self._db() as db:
            db.execute(
                "UPDATE analyses SET n_done = ?, updated = ? WHERE id = ?",
                (n_done, time.time(), analysis_id),
            )

    def finish(
        self, lease: Lease, analysis_id: int, duration_s: float, nonfinite_s: float = 0.0
    ) -> None:
        self._require(lease, analysis_id)
        with self._db() as db:
            db.execute(
                "UPDATE analyses SET status = 'complete', duration_s = ?, nonfinite_s = ?, "
                "updated = ? WHERE id = ?",
                (duration_s, nonfinite_s, time.time(), analysis_id),
            )

    def vectors(self, record: AnalysisRecord) -> np.ndarray:
        """The stored ``[n_done, dim]`` embeddings; a ``StoreError`` if the file disagrees."""
        buf = bytearray(record.n_done * record.dim * 4)
        try:
            with open(self._vectors(record.id), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                got = f.readinto(buf) if _damage(record, size) is None else 0
        except FileNotFoundError:
            size = got = 0
        damage = _damage(record, size)
        if damage is None and got != len(buf):  # a repair truncated it after the fstat
            damage = _damage(record, got)
        if damage is not None:
            raise StoreError(damage)
        return np.frombuffer(buf, dtype="<f4").reshape(record.n_done, record.dim)

    def analysis(self, analysis_id: int) -> AnalysisRecord:
        with self._db() as db:
            row = db.execute(SELECT_RECORD + " WHERE a.id = ?", (analysis_id,)).fetchone()
        if row is None:
            raise KeyError(analysis_id)
        return to_record(row)

    def analyses(self) -> list[AnalysisRecord]:
        """Every analysis in the library, newest first."""
        with self._db() as db:
            rows = db.execute(SELECT_RECORD + " ORDER BY a.updated DESC").fetchall()
        return [to_record(r) for r in rows]

    # --- reviews: moments kept or rejected, by the user or from a search hit ---

    def set_review(
        self, analysis_id: int, label: str, start_s: float, kept: bool, end_s: float | None = None
    ) -> None:
        """Keep or reject the moment of a label starting at ``start_s``; an ``end_s`` of None
        keeps the end stored (a moment kept by hand, a search hit, keeps its span)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO reviews (analysis_id, label, start_s, end_s, accepted) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (analysis_id, label, start_s) DO UPDATE "
                "SET accepted = excluded.accepted, end_s = COALESCE(excluded.end_s, end_s)",
                (analysis_id, *review_key(label, start_s),
                 None if end_s is None else round(end_s, 3), int(kept)),
            )  # fmt: skip

    def reviews(self, analysis_id: int) -> dict[tuple[str, float], bool]:
        """``(label, start_s) → kept`` for the moments of the analysis the user reviewed."""
        with self._db() as db:
            rows = db.execute(
                "SELECT label, start_s, accepted FROM reviews WHERE analysis_id = ?",
                (analysis_id,),
            ).fetchall()
        return {(r["label"], r["start_s"]): bool(r["accepted"]) for r in rows}

    def kept_moments(self, analysis_id: int) -> list[tuple[str, float, float]]:
        """``(label, start_s, end_s)`` of the kept reviews whose span is known, in time order."""
        with self._db() as db:
            rows = db.execute(
                "SELECT label, start_s, end_s FROM reviews WHERE analysis_id = ? AND accepted "
                "AND end_s IS NOT NULL ORDER BY start_s, label",
                (analysis_id,),
            ).fetchall()
        return [(r["label"], r["start_s"], r["end_s"]) for r in rows]

    def set_trim(
        self,
        analysis_id: int,
        label: str,
        start_s: float,
        trim: Trim,
        end_s: float | None = None,
    ) -> None:
        """Move the edges of the highlight of ``label`` found at ``start_s`` (its review key);
        a trim that moves nothing removes the one stored. With the highlight's ``end_s``,
        a trim leaving it shorter than ``MIN_TRIMMED_S`` is refused (a ``HypelineError``)."""
        trim = trim.check() if end_s is None else trim.check_span(start_s, end_s)
        key = (analysis_id, *review_key(label, start_s))
        with self._db() as db:
            if not trim.moved:
                db.execute(
                    "DELETE FROM trims WHERE analysis_id = ? AND label = ? AND start_s = ?", key
                )
                return
            db.execute(
                "INSERT INTO trims (analysis_id, label, start_s, start_shift_s, end_shift_s) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (analysis_id, label, start_s) DO UPDATE "
                "SET start_shift_s = excluded.start_shift_s, end_shift_s = excluded.end_shift_s",
                (*key, round(trim.start_shift_s, 3), round(trim.end_shift_s, 3)),
            )

    def trims(self, analysis_id: int) -> dict[tuple[str, float], Trim]:
        """``(label, start_s) → Trim`` for the highlights of the analysis the user trimmed."""
        with self._db() as db:
            rows = db.execute(
                "SELECT label, start_s, start_shift_s, end_shift_s FROM trims "
                "WHERE analysis_id = ?",
                (analysis_id,),
            ).fetchall()
        return {
            (r["label"], r["start_s"]): Trim(r["start_shift_s"], r["end_shift_s"]) for r in rows
        }

    def all_reviews(self, model: str | None = None) -> list[Review]:
        """Every reviewed moment in the library (of analyses made with ``model``, if given):
        the picks that learning learns from."""
        query = (
            "SELECT r.analysis_id, r.label, r.start_s, r.end_s, r.accepted FROM reviews r "
            "JOIN analyses a ON a.id = r.analysis_id"
        )
        args: tuple[object, ...] = ()
        if model is not None:
            query += " WHERE a.model = ?"
            args = (model,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY r.analysis_id, r.label, r.start_s", args)
            return [
                Review(r["analysis_id"], r["label"], r["start_s"], r["end_s"], bool(r["accepted"]))
                for r in rows.fetchall()
            ]

    # --- an analysis's chat replay (emotion.chat.stored encodes and reads it) -------------

    def set_chat(self, analysis_id: int, fmt: str, n_messages: int, data: bytes) -> None:
        """Attach a parsed chat to an analysis, replacing the one it had (one statement)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO chats (analysis_id, format, n_messages, attached, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (analysis_id, fmt, n_messages, time.time(), sqlite3.Binary(data)),
            )

    def chat(self, analysis_id: int) -> ChatRecord | None:
        """The chat attached to an analysis, or None."""
        with self._db() as db:
            row = db.execute("SELECT * FROM chats WHERE analysis_id = ?", (analysis_id,)).fetchone()
        if row is None:
            return None
        return ChatRecord(
            row["analysis_id"],
            row["format"],
            row["n_messages"],
            row["attached"],
            bytes(row["data"]),
        )

    # --- library management and search (issue 9) -------------------------------------

    def vector_rows(self, record: AnalysisRecord, first: int, stop: int) -> np.ndarray:
        """Rows ``first:stop`` of the counted vectors, memory-mapped read-only.

        The mapping goes when the array is dropped, so a reader streaming a big library
        block by block keeps only one block resident. A ``StoreError`` if the file disagrees.
        """
        assert 0 <= first <= stop <= record.n_done
        size = self._size(record.id)
        if (damage := _damage(record, size)) is not None:
            raise StoreError(damage)
        if first == stop:
            return np.zeros((0, record.dim), dtype="<f4")
        return np.memmap(
            self._vectors(record.id), dtype="<f4", mode="r",
            offset=first * record.dim * 4, shape=(stop - first, record.dim),
        )  # fmt: skip

    def vectors_at(self, record: AnalysisRecord, rows: np.ndarray) -> np.ndarray:
        """A copy of the counted vectors at ``rows`` (search's exact re-rank of an index's
        candidates: a few rows of many files, so one plain mapping each). A ``StoreError``
        if the file disagrees."""
        if len(rows) == 0:
            return np.zeros((0, record.dim), dtype="<f4")
        assert rows.min() >= 0 and rows.max() < record.n_done
        try:
            with open(self._vectors(record.id), "rb") as f:
                if (damage := _damage(record, os.fstat(f.fileno()).st_size)) is not None:
                    raise StoreError(damage)
                with mmap.mmap(
                    f.fileno(), record.n_done * record.dim * 4, access=mmap.ACCESS_READ
                ) as m:
                    view = np.frombuffer(m, dtype="<f4").reshape(record.n_done, record.dim)
                    out = view[rows]
                    del view  # the mapping closes only once no array looks into it
        except FileNotFoundError:
            raise StoreError(_damage(record, 0) or "") from None
        return out

    def analyses_version(self) -> tuple[object, ...]:
        """A value that changes whenever an analysis (or its source) changes: a cache key for
        ``analyses()``, a thousand times cheaper than it (one aggregate, no records)."""
        stats: list[object] = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal")):
            try:
                st = path.stat()
                stats.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except FileNotFoundError:
                stats.append(None)
        with self._db() as db:
            row = db.execute(
                "SELECT COUNT(*), MAX(id), TOTAL(n_done), TOTAL(created), MAX(updated) "
                "FROM analyses"
            ).fetchone()
        return (*stats, *tuple(row))

    def set_last_labels(self, analysis_id: int, labels: list[str]) -> None:
        """Remember the labels an analysis was last scored with (the library lists them)."""
        with self._db() as db:
            db.execute(
                "UPDATE analyses SET last_labels = ? WHERE id = ?",
                (json.dumps(list(labels), ensure_ascii=False), analysis_id),
            )

    def rename(self, analysis_id: int, name: str | None) -> AnalysisRecord:
        """Give an analysis the user's own name; None or blank goes back to the source's title."""
        name = " ".join((name or "").split()) or None
        with self._db() as db:
            found = db.execute(
                "UPDATE analyses SET name = ? WHERE id = ?", (name, analysis_id)
            ).rowcount
        if not found:
            raise KeyError(analysis_id)
        return self.analysis(analysis_id)

    def size_bytes(self, record: AnalysisRecord) -> int:
        """Bytes on disk for this analysis: its vectors, and its media when the library holds it."""
        size = self._size(record.id)
        if (media := self._media_item(record.source.path)) is not None:
            size += sum(f.stat().st_size for f in media.rglob("*") if f.is_file())
        return size

    def delete(self, analysis_id: int) -> list[Path]:
        """Remove an analysis: its rows, reviews, trims and gaps, its vectors and lease file,
        and its download or upload when no other analysis uses that source. Returns the paths
        removed.

        Refused with ``BusyError`` while another process holds the analysis's lease.
        """
        record = self.analysis(analysis_id)
        lease = self.lease(analysis_id)
        if lease is None:
            raise BusyError(
                f"{record.title} is being analysed by another process; wait for it to finish "
                "or stop it, then delete it."
            )
        removed: list[Path] = []
        with lease:
            with self._db() as db:
                db.execute("DELETE FROM reviews WHERE analysis_id = ?", (analysis_id,))
                db.execute("DELETE FROM trims WHERE analysis_id = ?", (analysis_id,))
                db.execute("DELETE FROM gaps WHERE analysis_id = ?", (analysis_id,))
                db.execute("DELETE FROM chats WHERE analysis_id = ?", (analysis_id,))
                db.execute("DELETE FROM analyses WHERE id = ?", (analysis_id,))
                (others,) = db.execute(
                    "SELECT COUNT(*) FROM analyses a JOIN sources s ON s.id = a.source_id "
                    "WHERE s.path = ?",
                    (str(record.source.path),),
                ).fetchone()
                if not others:
                    db.execute(
                        "DELETE FROM sources WHERE path = ? AND id NOT IN "
                        "(SELECT source_id FROM analyses)",
                        (str(record.source.path),),
                    )
            for path in (self._vectors(analysis_id), self._lock(analysis_id)):
                with contextlib.suppress(OSError):  # gone already; Windows keeps a held lock
                    path.unlink()
                    removed.append(path)
            exports = self.home / "exports" / str(analysis_id)
            media = None if others else self._media_item(record.source.path)
            for folder in (exports, media):
                if folder is not None and folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
        return removed

    def _media_item(self, path: Path) -> Path | None:
        """The download or upload folder under this library holding ``path``; None for the
        user's own files, which are never ours to remove."""
        try:
            parts = path.resolve().relative_to(self.home.resolve()).parts
        except (OSError, ValueError):
            return None
        if len(parts) < 3 or parts[0] not in ("downloads", "uploads") or parts[1] == "index":
            return None
        return self.home.joinpath(*parts[:2])

    # --- live analyses (emotion.live) ---------------------------------------------------

    def live_position(self, lease: Lease, analysis_id: int, stream_s: float) -> None:
        """How far a growing live analysis has heard (its duration so far), in stream time."""
        self._require(lease, analysis_id)
        with self._db() as db:
            db.execute(
                "UPDATE analyses SET duration_s = ?, updated = ? WHERE id = ?",
                (stream_s, time.time(), analysis_id),
            )

    def add_gap(self, lease: Lease, analysis_id: int, start_s: float, end_s: float) -> None:
        """Stream time in which a live source sent no audio."""
        self._require(lease, analysis_id)
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO gaps (analysis_id, start_s, end_s) VALUES (?, ?, ?)",
                (analysis_id, round(start_s, 3), round(end_s, 3)),
            )

    def gaps(self, analysis_id: int) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of each gap of a live analysis, in order."""
        with self._db() as db:
            rows = db.execute(
                "SELECT start_s, end_s FROM gaps WHERE analysis_id = ? ORDER BY start_s",
                (analysis_id,),
            ).fetchall()
        return [(r["start_s"], r["end_s"]) for r in rows]

    def running_live(self, identity_prefix: str) -> list[AnalysisRecord]:
        """Live analyses whose source identity starts with the prefix and that never finished
        (their monitor was killed), newest first."""
        with self._db() as db:
            rows = db.execute(
                SELECT_RECORD + " WHERE a.kind = 'live' AND a.status = 'running' "
                "AND substr(s.identity, 1, length(?)) = ? ORDER BY a.created DESC",
                (identity_prefix, identity_prefix),
            ).fetchall()
        return [to_record(r) for r in rows]

    def _vectors(self, analysis_id: int) -> Path:
        return self.vectors_dir / f"{analysis_id}.f32"

    def _lock(self, analysis_id: int) -> Path:
        return self.vectors_dir / f"{analysis_id}.lock"

    def _size(self, analysis_id: int) -> int:
        try:
            return self._vectors(analysis_id).stat().st_size
        except FileNotFoundError:
            return 0

    def _require(self, lease: Lease, analysis_id: int) -> None:
        if not lease.held or lease.path != self._lock(analysis_id):
            raise RuntimeError(f"analysis {analysis_id} written without holding its lease")


def _damage(record: AnalysisRecord, size: int) -> str | None:
    expected = record.n_done * record.dim * 4
    if size == expected or (size > expected and not record.complete):
        return None
    return (
        f"The stored vectors of {record.source.title} do not match its record ({size} bytes "
        f"on disk for {record.n_done} windows of {record.dim} numbers); analyse it again "
        "to repair it."
    )
