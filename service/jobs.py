"""Analyses asked for over HTTP: a queue that outlives the server process.

Each job's parameters live in ``api-jobs.sqlite`` beside the library (its own small
file, so the library's schema stays the CLI's and the dashboard's), written before the
client hears ``202``. One worker thread per process runs them in order (one model per
process, so one queue per model). A server killed mid-analysis finds its queued and
running jobs here when it starts again and runs them; ``embed_source`` resumes from the
windows already stored, so nothing is embedded twice.

Posts (shorts, a reel, thumbnails) are rendered by ``Renders``, a second worker beside
the queue: the work is ffmpeg's, not the model's, so it never waits behind an analysis.
Its jobs live in memory: their files live in a folder keyed by the highlights and the
settings (``clipzip.posts_dir``), where every file is written whole or not at all, so a
server killed mid-render leaves no half file, and the same request after a restart
renders only what is missing.
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
from dataclasses import dataclass, field, replace
from pathlib import Path

from emotion import pipeline
from emotion.analysis import Analysis
from emotion.errors import Cancelled, HypelineError
from emotion.export import clipzip
from emotion.library.store import Store
from emotion.model.batcher import Batcher
from emotion.progress import Progress, ProgressFn
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
        self.renders = Renders(store, (*sources.media_roots, store.home))

    def start(self) -> None:
        # Jobs a killed server was running are queued again; embed_source resumes them.
        for job in self.jobs.active():
            if job.status == "running":
                self.jobs.update(job.id, status="queued")
        self._thread.start()
        self._wake.set()
        self.renders.start()

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
        self.renders.close()

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


# ------------------------------------------------------------------------------ posts

RENDER_STAGES = ("thumbnails", "shorts", "reel")  # the order pipeline.export renders them
KEPT_RENDERS = 200  # finished renders remembered (oldest forgotten first); files stay on disk


@dataclass
class Render:
    """One render of posts: what is asked, where it goes, and how far it got."""

    id: str
    analysis: str  # the API's analysis (job) id
    subject: Analysis  # scored, its highlights the ones the exports hold
    exports: pipeline.ExportSettings
    folder: Path
    created: float
    status: str = "queued"  # queued | running | complete | failed
    stage: str | None = None
    fraction: float | None = None
    eta_s: float | None = None
    message: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    zip: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def stages(self) -> tuple[str, ...]:
        asked = {"thumbnails": self.exports.thumbnails, "shorts": self.exports.shorts is not None,
                 "reel": self.exports.reel is not None}  # fmt: skip
        return tuple(s for s in RENDER_STAGES if asked[s])


class Renders:
    """Posts rendered one at a time on a worker thread, through ``pipeline.export``."""

    def __init__(self, store: Store, folders: tuple[Path, ...]) -> None:
        self.store, self._folders = store, folders
        self._renders: dict[str, Render] = {}
        self._queue: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hypeline-renders")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            for render in self._renders.values():
                render.cancel.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def submit(self, analysis: str, subject: Analysis, exports: pipeline.ExportSettings) -> Render:
        """Queue a render of ``exports``' posts (its formats and clips are not written: they
        have their own paths); the same render still queued or running is answered instead."""
        exports = replace(exports, formats=(), clips=False)
        folder = clipzip.posts_dir(subject, self.store.home, exports.thumbnails, exports.shorts,
                                   exports.reel)  # fmt: skip
        with self._lock:
            for render in self._renders.values():
                if render.folder == folder and render.status in ACTIVE:
                    return render
            render = Render(secrets.token_hex(8), analysis, subject, exports, folder, time.time())
            self._renders[render.id] = render
            self._queue.append(render.id)
            done = [r.id for r in self._renders.values() if r.status not in ACTIVE]
            for old in done[: max(0, len(done) - KEPT_RENDERS)]:
                del self._renders[old]
        self._wake.set()
        return render

    def get(self, render_id: str) -> Render | None:
        with self._lock:
            return self._renders.get(render_id)

    def of(self, analysis: str) -> list[Render]:
        """The renders of one analysis, oldest first."""
        with self._lock:
            return [r for r in self._renders.values() if r.analysis == analysis]

    def active(self) -> list[Render]:
        with self._lock:
            return [r for r in self._renders.values() if r.status in ACTIVE]

    def forget(self, render_id: str) -> None:
        """Forget a render; a running one stops at its next step (the file being made is
        finished or dropped whole: the files made stay for the next ask)."""
        with self._lock:
            render = self._renders.pop(render_id, None)
            if render_id in self._queue:
                self._queue.remove(render_id)
        if render is not None:
            render.cancel.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                with self._lock:
                    if not self._queue:
                        break
                    render = self._renders[self._queue.pop(0)]
                self._execute(render)

    def _execute(self, render: Render) -> None:
        render.status = "running"
        try:
            written = pipeline.export(
                render.subject, self.store, render.folder, render.exports,
                progress=self._progress(render), on_note=render.notes.append,
            )  # fmt: skip
            files = [p for p in dict.fromkeys(written) if p.is_file()]
            render.stage, render.message = "zip", f"zipping {len(files)} file(s)"
            render.zip = clipzip.zip_files(
                files, render.folder, render.folder.with_name(f"{render.folder.name}.zip")
            )
        except Cancelled:
            render.status, render.error = "failed", "The render was cancelled."
        except HypelineError as e:
            render.status, render.error = "failed", without_folders(str(e), self._folders)
        except Exception:
            log.exception("render %s failed", render.id)
            render.status = "failed"
            render.error = ("The render failed inside the server; try again, and report it if "
                            "it keeps happening.")  # fmt: skip
        else:  # the status last: a client seeing "complete" sees the files with it
            render.fraction, render.eta_s, render.stage, render.message = 1.0, 0.0, None, None
            render.files, render.status = files, "complete"

    def _progress(self, render: Render) -> ProgressFn:
        """The library's progress as the whole render's, with an ETA from the time so far;
        it raises ``Cancelled`` at the render's next step once it is forgotten."""
        stages, began = render.stages, time.monotonic()

        def report(p: Progress) -> None:
            if render.cancel.is_set():
                raise Cancelled("The render was cancelled.")
            if p.stage not in stages:
                return
            whole = (stages.index(p.stage) + (p.fraction or 0.0)) / len(stages)
            spent_s = time.monotonic() - began
            render.stage, render.message, render.fraction = p.stage, p.message, whole
            render.eta_s = spent_s * (1.0 - whole) / whole if whole > 0 else None

        return report
