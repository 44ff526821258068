"""Analyses asked for over HTTP: a queue that outlives the server process.

Each job's parameters live in ``api-jobs.sqlite`` beside the library (its own small
file, so the library's schema stays the CLI's and the dashboard's), written before the
client hears ``202``. One worker thread per process runs them in order (one model per
process, so one queue per model). A server killed mid-analysis finds its queued and
running jobs here when it starts again and runs them; ``embed_source`` resumes from the
windows already stored, so nothing is embedded twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from emotion import pipeline
from emotion.errors import Cancelled, HypelineError
from emotion.library.store import Store
from emotion.model.batcher import Batcher
from emotion.progress import Progress
from service.errors import without_folders
from service.sources import ClientSources

log = logging.getLogger("service.jobs")

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
                (job.id, job.source, json.dumps(job.labels), json.dumps(job.background),
                 job.template, job.window_s, job.hop_s, job.audio_track, job.status,
                 job.created, job.chat, job.rank),
            )  # fmt: skip
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
        id=row["id"], source=row["source"], labels=json.loads(row["labels"]),
        background=json.loads(row["background"]), template=row["template"],
        window_s=row["window_s"], hop_s=row["hop_s"], audio_track=row["audio_track"],
        status=row["status"], error=row["error"], analysis_id=row["analysis_id"],
        title=row["title"], created=row["created"], chat=row["chat"], rank=row["rank"],
    )  # fmt: skip


class JobRunner:
    """One worker thread running the queue in order; progress kept in memory for status."""

    def __init__(
        self, batcher: Batcher, store: Store, jobs: JobStore, sources: ClientSources
    ) -> None:
        self.batcher, self.clap, self.store = batcher, batcher.clap, store
        self.jobs, self.sources = jobs, sources
        self.progress: dict[str, Progress] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hypeline-jobs")

    def start(self) -> None:
        # Jobs a killed server was running are queued again; embed_source resumes them.
        for job in self.jobs.active():
            if job.status == "running":
                self.jobs.update(job.id, status="queued")
        self._thread.start()
        self._wake.set()

    def submit(self, job: Job) -> Job:
        job = self.jobs.add(job)
        self._wake.set()
        return job

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if (event := self._cancel.get(job_id)) is not None:
                event.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            for event in self._cancel.values():
                event.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                queued = [j for j in self.jobs.active() if j.status == "queued"]
                if not queued:
                    break
                self._execute(queued[0])

    def _execute(self, job: Job) -> None:
        cancel = threading.Event()
        with self._lock:
            self._cancel[job.id] = cancel
        self.jobs.update(job.id, status="running")
        try:
            source = self.sources.open(job.source)
            self.jobs.update(job.id, title=source.title)
            pipeline.embed(
                source, self.clap, self.store, window_s=job.window_s, hop_s=job.hop_s,
                audio_track=job.audio_track, cancel=cancel,
                progress=lambda p: self.progress.__setitem__(job.id, p),
                on_open=lambda record: self.jobs.update(job.id, analysis_id=record.id),
                embed_audio=self.batcher.embed,
                chat=None if job.chat is None else self.sources.chat_file(job.chat),
            )  # fmt: skip
        except Cancelled:
            if self._stop.is_set():  # shutting down: the next start resumes it
                self.jobs.update(job.id, status="queued")
            return  # deleted: its row is gone already
        except HypelineError as e:
            self.jobs.update(
                job.id,
                status="failed",
                error=without_folders(str(e), (*self.sources.media_roots, self.store.home)),
            )
        except Exception:
            log.exception("analysis %s failed", job.id)
            self.jobs.update(
                job.id,
                status="failed",
                error="The analysis failed inside the server; try again, and report it if it "
                "keeps happening.",
            )
        else:
            if self.jobs.get(job.id) is not None:
                self.jobs.update(job.id, status="complete")
        finally:
            with self._lock:
                self._cancel.pop(job.id, None)
            self.progress.pop(job.id, None)
