"""Posts of an analysis (shorts, a reel, thumbnails) rendered for the HTTP API.

``Renders`` is a worker beside the analysis queue: the work is ffmpeg's, not the model's,
so it never waits behind an analysis. Its jobs live in memory: their files live in a
folder keyed by the highlights and the settings (``clipzip.posts_dir``), where every file
is written whole or not at all, so a server killed mid-render leaves no half file, and
the same request after a restart renders only what is missing.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from emotion.analysis import Analysis
from emotion.errors import Cancelled, HypelineError
from emotion.export import clipzip
from emotion.library.store import Store
from emotion.pipeline_export import ExportSettings, export
from emotion.progress import Progress, ProgressFn
from service.errors import without_folders
from service.job_store import ACTIVE

log = logging.getLogger("service.renders")

RENDER_STAGES = ("thumbnails", "shorts", "reel")  # the order pipeline_export.export renders them
KEPT_RENDERS = 200  # finished renders remembered (oldest forgotten first); files stay on disk


@dataclass
class Render:
    """One render of posts: what is asked, where it goes, and how far it got."""

    id: str
    analysis: str  # the API's analysis (job) id
    subject: Analysis  # scored, its highlights the ones the exports hold
    exports: ExportSettings
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
        asked = {
            "thumbnails": self.exports.thumbnails,
            "shorts": self.exports.shorts is not None,
            "reel": self.exports.reel is not None,
        }
        return tuple(s for s in RENDER_STAGES if asked[s])


class Renders:
    """Posts rendered one at a time on a worker thread, through ``pipeline_export.export``."""

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

    def submit(self, analysis: str, subject: Analysis, exports: ExportSettings) -> Render:
        """Queue a render of ``exports``' posts (its formats and clips are not written: they
        have their own paths); the same render still queued or running is answered instead."""
        exports = replace(exports, formats=(), clips=False)
        folder = clipzip.posts_dir(
            subject, self.store.home, exports.thumbnails, exports.shorts, exports.reel
        )
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
            written = export(
                render.subject,
                self.store,
                render.folder,
                render.exports,
                progress=self._progress(render),
                on_note=render.notes.append,
            )
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
            render.error = (
                "The render failed inside the server; try again, and report it if "
                "it keeps happening."
            )
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
