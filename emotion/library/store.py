"""The library of analysed VODs under ``HYPELINE_HOME``: resumable, written as we go.

* ``library.sqlite`` — sources, analyses (model, window, hop, status, progress),
  highlight reviews and trims (a highlight's edges moved by hand, keyed as its review).
* ``embeddings/<analysis id>.f32`` — the window embeddings (``emotion.library.vectors``).
* ``embeddings/<analysis id>.lock`` — the analysis's lease (``emotion.lease``): only its
  holder appends, finishes or repairs; anyone may read.

Many processes share one library. SQLite runs in WAL mode with a busy timeout and every
call is one short transaction, so readers (pages, re-scoring, search) never block the
writer. The vector files (``VectorFiles``) are checked against the count when read
(``check``) and repaired under the lease (``repair``), never scored wrong. The statements
on the user's reviews and trims (``reviews``), on live analyses (``live_analyses``) and
those deleting an analysis (``removal``) live beside this module; ``Store`` runs each in
its own transaction.

An analysis is keyed by (source identity, audio track, model, window_s, hop_s): labels,
template and thresholds are not part of the key — changing them re-scores the stored
vectors. The schema carries a version (``PRAGMA user_version``); older libraries are
migrated in place when opened.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from emotion.errors import BusyError
from emotion.lease import Lease, try_acquire
from emotion.library import live_analyses, removal, reviews
from emotion.library.records import AnalysisRecord, ChatRecord, Review, Trim
from emotion.library.schema import SELECT_RECORD, migrate, to_record, use_wal
from emotion.library.vectors import VectorFiles, damage
from emotion.media.source import Source
from emotion.paths import hypeline_home

# How long a call waits for another process's transaction; ours last milliseconds.
BUSY_TIMEOUT_S = 30.0


class Store:
    """The on-disk library; each call opens its own short SQLite connection (thread-safe)."""

    def __init__(self, home: Path | None = None):
        self.home = home or hypeline_home()
        self.vectors_dir = self.home / "embeddings"
        self._files = VectorFiles(self.vectors_dir)
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
        source_row = (
            *(identity, source.title, str(source.path), source.url, source.uploader),
            *(source.duration_s, int(source.has_video), source.fps, now, published),
        )
        with self._db() as db:
            db.execute(
                "INSERT INTO sources (identity, title, path, url, uploader, duration_s, "
                "has_video, fps, created, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(identity) DO UPDATE SET title=excluded.title, path=excluded.path, "
                "url=excluded.url, uploader=excluded.uploader, duration_s=excluded.duration_s, "
                "has_video=excluded.has_video, fps=excluded.fps, "
                "published=COALESCE(excluded.published, published)",
                source_row,
            )
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
        return try_acquire(self._files.lock_path(analysis_id))

    def check(self, record: AnalysisRecord) -> str | None:
        """Why the vectors on disk do not match ``record``, in one sentence (``vectors.damage``); None
        when they do."""
        return damage(record, self._files.size(record.id))

    def repair(self, lease: Lease, analysis_id: int) -> tuple[AnalysisRecord, str | None]:
        """Make the vectors on disk match the record (``VectorFiles.cut``) and run the analysis
        again from the windows kept; the repaired record and a note, if any."""
        self._require(lease, analysis_id)
        record = self.analysis(analysis_id)
        # The file first: a crash before the record is updated leaves a file shorter than
        # its count, which the next repair handles the same way.
        if (cut := self._files.cut(record)) is None:
            return record, None
        keep, note = cut
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
        self._files.append(analysis_id, dim, vectors)
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
        return self._files.read(record)

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

    # --- the user's marks: moments kept or rejected, highlights trimmed (``reviews``) ---

    def set_review(
        self, analysis_id: int, label: str, start_s: float, kept: bool, end_s: float | None = None
    ) -> None:
        """Keep or reject the moment of a label starting at ``start_s`` (``reviews.set_review``)."""
        with self._db() as db:
            reviews.set_review(db, analysis_id, label, start_s, kept, end_s)

    def reviews(self, analysis_id: int) -> dict[tuple[str, float], bool]:
        """``(label, start_s) → kept`` for the moments of the analysis the user reviewed."""
        with self._db() as db:
            return reviews.reviews(db, analysis_id)

    def kept_moments(self, analysis_id: int) -> list[tuple[str, float, float]]:
        """``(label, start_s, end_s)`` of the kept reviews whose span is known, in time order."""
        with self._db() as db:
            return reviews.kept_moments(db, analysis_id)

    def set_trim(
        self, analysis_id: int, label: str, start_s: float, trim: Trim, end_s: float | None = None
    ) -> None:
        """Move the edges of the highlight of ``label`` at ``start_s`` (``reviews.set_trim``)."""
        with self._db() as db:
            reviews.set_trim(db, analysis_id, label, start_s, trim, end_s)

    def trims(self, analysis_id: int) -> dict[tuple[str, float], Trim]:
        """``(label, start_s) → Trim`` for the highlights of the analysis the user trimmed."""
        with self._db() as db:
            return reviews.trims(db, analysis_id)

    def all_reviews(self, model: str | None = None) -> list[Review]:
        """Every reviewed moment in the library (of analyses made with ``model``, if given)."""
        with self._db() as db:
            return reviews.all_reviews(db, model)

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
        return self._files.rows(record, first, stop)

    def vectors_at(self, record: AnalysisRecord, rows: np.ndarray) -> np.ndarray:
        """A copy of the counted vectors at ``rows`` (search's exact re-rank of an index's
        candidates: a few rows of many files, so one plain mapping each). A ``StoreError``
        if the file disagrees."""
        return self._files.at(record, rows)

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
        size = self._files.size(record.id)
        if (media := removal.media_folder(self.home, record.source.path)) is not None:
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
        with lease:
            with self._db() as db:
                shared = removal.delete_rows(db, analysis_id, record.source.path)
            removed = self._files.remove(analysis_id)
            exports = self.home / "exports" / str(analysis_id)
            media = None if shared else removal.media_folder(self.home, record.source.path)
            removed += removal.remove_folders(exports, media)
        return removed

    # --- live analyses (emotion.live; ``live_analyses``) ------------------------------

    def live_position(self, lease: Lease, analysis_id: int, stream_s: float) -> None:
        """How far a growing live analysis has heard (its duration so far), in stream time."""
        self._require(lease, analysis_id)
        with self._db() as db:
            live_analyses.set_position(db, analysis_id, stream_s)

    def add_gap(self, lease: Lease, analysis_id: int, start_s: float, end_s: float) -> None:
        """Stream time in which a live source sent no audio."""
        self._require(lease, analysis_id)
        with self._db() as db:
            live_analyses.add_gap(db, analysis_id, start_s, end_s)

    def gaps(self, analysis_id: int) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of each gap of a live analysis, in order."""
        with self._db() as db:
            return live_analyses.gaps(db, analysis_id)

    def running_live(self, identity_prefix: str) -> list[AnalysisRecord]:
        """Unfinished live analyses of sources whose identity starts with the prefix."""
        with self._db() as db:
            return live_analyses.running(db, identity_prefix)

    def _require(self, lease: Lease, analysis_id: int) -> None:
        if not lease.held or lease.path != self._files.lock_path(analysis_id):
            raise RuntimeError(f"analysis {analysis_id} written without holding its lease")
