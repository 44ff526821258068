"""Analyses asked for over HTTP: the queue's worker, which outlives the server process.

One worker thread per process runs the jobs of ``job_store.JobStore`` in order (one
model per process, so one queue per model). A server killed mid-analysis finds its
queued and running jobs when it starts again and runs them; ``embed_source`` resumes
from the windows already stored, so nothing is embedded twice. The posts' worker
(``renders.Renders``) starts and stops with it.
"""

from __future__ import annotations

import logging
import threading

from emotion import pipeline
from emotion.errors import Cancelled, HypelineError
from emotion.library.store import Store
from emotion.model.batcher import Batcher
from emotion.progress import Progress
from service.errors import without_folders
from service.job_store import Job, JobStore
from service.renders import Renders
from service.sources import ClientSources

log = logging.getLogger("service.jobs")


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
                source,
                self.clap,
                self.store,
                window_s=job.window_s,
                hop_s=job.hop_s,
                audio_track=job.audio_track,
                cancel=cancel,
                progress=lambda p: self.progress.__setitem__(job.id, p),
                on_open=lambda record: self.jobs.update(job.id, analysis_id=record.id),
                embed_audio=self.batcher.embed,
                chat=None if job.chat is None else self.sources.chat_file(job.chat),
            )
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
