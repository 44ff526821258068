"""The Clips page's render: shorts made on a thread of this session, and its progress.

Shorts are rendered by ``emotion.export.clipzip.render_shorts`` on a thread of this
session, the way ``ui/model`` loads the model: the page looks at its progress from a
fragment that reruns every half second (progress, ETA, Cancel) while it runs, and the whole
page is drawn again once it has finished, with the downloads. Leaving the page or
reloading it does not stop it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.export import clipzip
from emotion.export.clips import slugify
from emotion.export.post_settings import ShortSettings
from emotion.library.store import Store
from emotion.progress import Progress
from emotion.scoring.highlights import Highlight

RENDER_KEY = "clips_render"
POLL_S = 0.5


@dataclass
class Render:
    """One background render of this session: its shorts, how far it is, how it ended."""

    analysis_id: int
    names: list[str]  # what is rendered, one line each ("a whistle 0:20")
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    started_s: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    paths: list[Path] = field(default_factory=list)
    error: str | None = None  # the library's sentence (a cancel's too)
    notes: list[str] = field(default_factory=list)
    drawn: bool = False  # the page was drawn again once it had finished

    def start(self, work: Callable[[Render], list[Path]]) -> Render:
        def run() -> None:
            try:
                self.paths = work(self)
            except HypelineError as e:  # Cancelled among them: what was kept is said
                self.error = str(e)
            except Exception as e:  # a bug or a broken install: said, never a traceback
                self.error = f"Rendering failed ({e}); try again, or render from the command line."
            finally:
                self.done.set()

        threading.Thread(target=run, daemon=True, name="hypeline-clips-render").start()
        return self

    @property
    def running(self) -> bool:
        return not self.done.is_set()


def start(
    analysis: Analysis, highlights: list[Highlight], settings: ShortSettings, home: Path
) -> None:
    """Render the shorts of ``highlights`` in the background (this session's one render)."""

    def work(render: Render) -> list[Path]:
        def show(p: Progress) -> None:
            render.progress = p

        return clipzip.render_shorts(
            analysis,
            highlights,
            settings,
            home,
            show,
            cancel=render.cancel,
            on_note=render.notes.append,
        )

    names = [f"{h.label} {clock(h.start_s)}" for h in highlights]
    st.session_state[RENDER_KEY] = Render(analysis.analysis_id or 0, names).start(work)


def current(analysis_id: int) -> Render | None:
    """This session's render of this analysis, if one was started."""
    render: Render | None = st.session_state.get(RENDER_KEY)
    return render if render is not None and render.analysis_id == analysis_id else None


def render_all(
    analysis: Analysis, settings: ShortSettings | None, store: Store, render: Render | None
) -> None:
    """Render all, its progress while it runs (Cancel), how it ended, and the zip of all."""
    # chosen and trimmed: what the exports hold
    subset = pipeline_export.for_export(analysis, store)
    running = render is not None and render.running
    made = (
        [clipzip.made_short(subset, h, settings, store.home) for h in subset.highlights]
        if settings is not None
        else []
    )
    paths = [p for p in made if p is not None]
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button(
            f"Render all {len(subset.highlights)}",
            key="clips_render_all",
            type="primary",
            icon=":material/movie:",
            disabled=settings is None
            or running
            or not subset.highlights
            or len(paths) == len(subset.highlights),
            help="Renders each short in the background, one after another; those already "
            "rendered are kept.",
        ):
            assert settings is not None
            start(subset, subset.highlights, settings, store.home)
            st.rerun()
        if paths and len(paths) == len(subset.highlights):
            try:
                zipped = clipzip.shorts_zip(paths, subset, store.home)
            except HypelineError as e:
                st.error(str(e))
            else:
                st.download_button(
                    f"Download all {len(paths)} (zip)",
                    zipped.read_bytes,
                    file_name=f"{slugify(analysis.source.title)}-shorts.zip",
                    key="clips_download_all",
                    icon=":material/folder_zip:",
                    mime="application/zip",
                    on_click="ignore",
                )
        elif settings is not None and subset.highlights:
            st.caption(f"{len(paths)} of {len(subset.highlights)} rendered with this look.")
    if running:
        progress_panel()
    elif render is not None:
        render.drawn = True  # how it ended is drawn here: the fragment need not ask again
        if render.error is not None:
            (st.warning if render.error.startswith("Rendering stopped") else st.error)(render.error)
        elif render.paths:
            took = clock(time.monotonic() - render.started_s)
            st.success(
                f"Rendered {len(render.paths)} short(s) into the library ({took}).",
                icon=":material/check_circle:",
            )
        for note in render.notes:
            st.caption(f":material/info: {note}")


@st.fragment(run_every=POLL_S)
def progress_panel() -> None:
    """While a render runs: its bar, what it is on, the ETA, and Cancel; then the page again."""
    render: Render | None = st.session_state.get(RENDER_KEY)
    if render is None:
        return
    if not render.running:
        if not render.drawn:
            render.drawn = True
            st.rerun(scope="app")  # the downloads, and how it ended
        return
    p = render.progress
    fraction = p.fraction if p is not None and p.fraction is not None else 0.0
    eta = (
        f" · about {clock(p.eta_s)} left"
        if p is not None and p.eta_s is not None
        else " · the time left shows once one is done"
    )
    what = p.message if p is not None else "starting"
    took = clock(time.monotonic() - render.started_s)
    bar_col, cancel_col = st.columns([5, 1], vertical_alignment="bottom")
    if not render.cancel.is_set() and cancel_col.button(
        "Cancel",
        key="clips_cancel",
        icon=":material/cancel:",
        width="stretch",
        help="Stops once the short being rendered is done; the finished ones are kept.",
    ):
        render.cancel.set()
    if render.cancel.is_set():
        bar_col.progress(fraction, text=f"Cancelling after the short being rendered… ({what})")
    else:
        bar_col.progress(fraction, text=f"Rendering: {what} done · {took} so far{eta}")
