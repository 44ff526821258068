"""The HTTP API's analysis jobs on disk: ``api-jobs.sqlite`` beside the library.

Each job's parameters are written here before the client hears ``202`` (its own small
file, so the library's schema stays the CLI's and the dashboard's); a server killed
mid-analysis finds its queued and running jobs here when it starts again.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    labels TEXT NOT NULL,         -- JSON list
    background TEXT NOT NULL,     -- JSON list
    template TEXT NOT NULL,
    window_s REAL NOT NULL,
    hop_s REAL NOT NULL,
    audio_track INTEGER,
    status TEXT NOT NULL,         -- queued | running | complete | failed
    error TEXT,
    analysis_id INTEGER,          -- the library's analysis, once the source is open
    title TEXT,
    created REAL NOT NULL,
    chat TEXT,                    -- the chat replay's real path, under the media folders
    rank TEXT                     -- sound | chat | both; NULL: the default
);
"""
# Columns added since the first jobs table (added in place to an older file).
_ADDED_COLUMNS = (("chat", "TEXT"), ("rank", "TEXT"))
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Job:
    id: str
    source: str
    labels: list[str]
    background: list[str]
    template: str
    window_s: float
    hop_s: float
    audio_track: int | None
    status: str = "queued"
    error: str | None = None
    analysis_id: int | None = None
    title: str | None = None
    created: float = 0.0
    chat: str | None = None
    rank: str | None = None


class JobStore:
    """The jobs table; every call one short transaction."""

    def __init__(self, home: Path):
        self.path = home / "api-jobs.sqlite"
        with self._db() as db:
            db.executescript(SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED_COLUMNS:
                if column not in present:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def add(self, job: Job) -> Job:
        job = replace(job, id=secrets.token_hex(8), created=time.time(), status="queued")
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, source, labels, background, template, window_s, hop_s, "
                "audio_track, status, created, chat, rank) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.source,
                    json.dumps(job.labels),
                    json.dumps(job.background),
                    job.template,
                    job.window_s,
                    job.hop_s,
                    job.audio_track,
                    job.status,
                    job.created,
                    job.chat,
                    job.rank,
                ),
            )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row is not None else None

    def all(self) -> list[Job]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created").fetchall()
        return [_job(r) for r in rows]

    def active(self) -> list[Job]:
        return [j for j in self.all() if j.status in ACTIVE]

    def update(self, job_id: str, **fields: object) -> None:
        names = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            db.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def delete(self, job_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        source=row["source"],
        labels=json.loads(row["labels"]),
        background=json.loads(row["background"]),
        template=row["template"],
        window_s=row["window_s"],
        hop_s=row["hop_s"],
        audio_track=row["audio_track"],
        status=row["status"],
        error=row["error"],
        analysis_id=row["analysis_id"],
        title=row["title"],
        created=row["created"],
        chat=row["chat"],
        rank=row["rank"],
    )
