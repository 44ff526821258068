"""The Clips page's parts: which analysis, the short's look, a card per highlight, the render.

A card shows a highlight as found (its still, its player, its times) with its trim: two
shifts of ±15 s stored in the library as soon as they change (``Store.set_trim``), so every
export sees them (``pipeline.for_export``). Shorts are rendered by
``emotion.export.clipzip.render_shorts`` on a thread of this session, the way ``ui/model``
loads the model: the page looks at its progress from a fragment that reruns every half
second (progress, ETA, Cancel) while it runs, and the whole page is drawn again once it has
finished, with the downloads. Leaving the page or reloading it does not stop it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from emotion import pipeline
from emotion.analysis import Analysis
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.export import clipzip
from emotion.export.clips import slugify
from emotion.export.ffmpeg_tools import Picture, probe_picture
from emotion.export.layouts import check_facecam
from emotion.export.post_settings import LAYOUTS, ShortSettings
from emotion.library.records import MAX_TRIM_S
from emotion.library.store import AnalysisRecord, Store, Trim, review_key
from emotion.progress import Progress
from emotion.scoring.highlights import Highlight
from ui import job, results

RENDER_KEY = "clips_render"
PLAYING_KEY = "clips_playing"
POLL_S = 0.5
TRIM_STEP_S = 0.5
LAYOUT_HELP = {
    "blur": "The whole frame across the width, over a blurred, zoomed copy of itself.",
    "crop": "A 9:16 window of the frame (for gameplay centred on screen).",
    "split": "The face cam on top, the gameplay below: give the face cam's rectangle.",
}


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


def pick(store: Store, visible: Callable[[Path], bool] | None = None) -> AnalysisRecord | None:
    """The analysis whose highlights to make shorts of: the one open on the Analyze page by
    default; picking another here opens it there too."""
    records = {
        r.id: r
        for r in store.analyses()
        if r.complete and (visible is None or visible(r.source.path))
    }
    if not records:
        return None
    ids = list(records)
    current = st.session_state.get("analysis_id")
    picked = st.selectbox(
        "Analysis", ids, index=ids.index(current) if current in records else 0,
        format_func=lambda i: job.describe(records[i]), key="clips_pick",
    )  # fmt: skip
    st.session_state.analysis_id = picked
    return records[picked]


def shown(analysis: Analysis, store: Store) -> list[Highlight]:
    """The highlights the exports hold (the kept ones when there are keeps), as found."""
    return pipeline.for_export(analysis, store, trim=False).highlights


@st.cache_data(max_entries=32, show_spinner=False)
def _picture(path: str, size: int, mtime_ns: int) -> Picture | None:
    return probe_picture(Path(path))


def picture(record: AnalysisRecord) -> Picture | None:
    """The video's upright size, None for audio (or a file gone)."""
    path = record.source.path
    if not record.source.has_video or not path.is_file():
        return None
    stat = path.stat()
    return _picture(str(path), stat.st_size, stat.st_mtime_ns)


def look(record: AnalysisRecord) -> ShortSettings | None:
    """The short's layout, face cam and title; None (with the library's sentence) when the
    choice cannot be rendered."""
    frame = picture(record)
    with st.container(border=True):
        st.markdown("**The shorts' look** · 1080×1920, −14 LUFS, for Shorts, TikTok and Reels")
        left, right = st.columns([2, 3])
        layout = left.segmented_control(
            "Layout", LAYOUTS, default="blur", key="clips_layout", required=True,
            help=" ".join(f"{name}: {text}" for name, text in LAYOUT_HELP.items()),
        )  # fmt: skip
        title = right.text_input(
            "Title", "{label}", key="clips_title",
            help="Drawn on each short; {label} is the moment's label, {time} its time in the VOD.",
        )  # fmt: skip
        crop_x = None
        facecam = None
        if layout == "crop":
            crop_x = st.slider("Crop position (left → right)", 0.0, 1.0, 0.5, 0.05, key="clips_crop_x")  # fmt: skip
        if layout == "split":
            facecam = _facecam(frame)
        if frame is not None:
            st.caption(f"The video is {frame.width}×{frame.height}.")
        else:
            st.caption("Audio only: the shorts show the sound's waveform under the title.")
    try:
        settings = ShortSettings(
            layout=layout or "blur", crop_x=crop_x, facecam=facecam, title=title
        ).check()
        if frame is not None and settings.layout == "split" and settings.facecam is not None:
            check_facecam(settings.facecam, frame)
    except HypelineError as e:
        st.error(str(e))
        return None
    return settings


def _facecam(frame: Picture | None) -> tuple[int, int, int, int] | None:
    """The face cam's rectangle, x, y, width, height in the video's pixels (0: not given)."""
    width, height = (frame.width, frame.height) if frame else (1920, 1080)
    w = width // 3 // 2 * 2
    default = (0, 0, w, min(round(w * 9 / 16) // 2 * 2, height))  # top-left corner, 16:9
    cols = st.columns(4)
    values = [
        int(col.number_input(name, 0, 16384, value, 2, key=f"clips_facecam_{name[0]}"))
        for col, name, value in zip(cols, ("x", "y", "width", "height"), default, strict=True)
    ]
    x, y, w, h = values
    return None if not (w and h) else (x, y, w, h)


def card(
    analysis: Analysis,
    index: int,
    h: Highlight,
    still: str | None,
    settings: ShortSettings | None,
    store: Store,
    rendering: bool,
) -> None:
    """One highlight: still, times, trim (stored on change), Play, Render this, Download."""
    aid = analysis.analysis_id or 0
    key = review_key(h.label, h.start_s)
    slug = f"{aid}_{h.label}_{h.start_s:.3f}"  # a widget per highlight, whatever its place
    trim = store.trims(aid).get(key, Trim())
    with st.container(border=True):
        still_col, trim_col, act_col = st.columns([1.2, 3.2, 2.2], vertical_alignment="top")
        with still_col:
            if still is not None:
                st.image(still, width="stretch")
            else:
                st.markdown(":material/graphic_eq:")
        with trim_col:
            st.markdown(f"**{index:02d} · {h.label}** · found {clock(h.start_s)}–{clock(h.end_s)}"
                        f" · score {h.score:.0%}")  # fmt: skip
            # Drawn from the library each run (a trim from the CLI shows; a refused one goes
            # back), and stored by the change itself, never by a rerun of a stale page.
            in_key, out_key, error_key = (f"clips_{k}_{slug}" for k in ("in", "out", "error"))
            st.session_state[in_key] = float(trim.start_shift_s)
            st.session_state[out_key] = float(trim.end_shift_s)
            args = (store.home, aid, h, in_key, out_key, error_key)
            start_col, end_col = st.columns(2)
            start_col.number_input(
                "Trim in (s)", -MAX_TRIM_S, MAX_TRIM_S, step=TRIM_STEP_S, key=in_key,
                on_change=_on_trim, args=args, help="Move the start: negative is earlier.",
            )  # fmt: skip
            end_col.number_input(
                "Trim out (s)", -MAX_TRIM_S, MAX_TRIM_S, step=TRIM_STEP_S, key=out_key,
                on_change=_on_trim, args=args, help="Move the end: positive is later.",
            )  # fmt: skip
            if (refused := st.session_state.pop(error_key, None)) is not None:
                st.error(refused)
            start_s, end_s = trim.span(h.start_s, h.end_s, analysis.duration_s or None)
            was = f" (was {h.end_s - h.start_s:.1f} s)" if trim.moved else ""
            st.caption(f"{clock(start_s)} → {clock(end_s)} · **{end_s - start_s:.1f} s**{was}")
        trimmed = pipeline.trimmed([h], {key: trim}, analysis.duration_s or None)[0]
        with act_col:
            playing = st.session_state.get(PLAYING_KEY)
            if st.button("Play", key=f"clips_play_{slug}", icon=":material/play_arrow:",
                         width="stretch"):  # fmt: skip
                press = playing[2] + 1 if playing else 0
                st.session_state[PLAYING_KEY] = playing = (aid, key, press)
            made = None if settings is None else clipzip.made_short(analysis, trimmed, settings, store.home)  # fmt: skip
            if made is not None:
                st.download_button(
                    "Download short", made.read_bytes, file_name=clipzip.short_name(made),
                    key=f"clips_download_{slug}", icon=":material/download:", mime="video/mp4",
                    on_click="ignore", type="primary", width="stretch",
                )  # fmt: skip
            elif st.button(
                "Render this", key=f"clips_render_{slug}", icon=":material/movie:",
                disabled=settings is None or rendering, width="stretch",
            ):  # fmt: skip
                assert settings is not None
                start(analysis, [trimmed], settings, store.home)
                st.rerun()
        if playing is not None and playing[:2] == (aid, key):  # one player on the page at a time
            with trim_col:
                results.moment_player(analysis.source, store.home, analysis.audio_track,
                                      start_s, end_s, autoplay=True, press=playing[2])  # fmt: skip


def _on_trim(
    home: Path, analysis_id: int, h: Highlight, in_key: str, out_key: str, error_key: str
) -> None:
    wanted = Trim(float(st.session_state[in_key]), float(st.session_state[out_key]))
    try:
        Store(home).set_trim(analysis_id, h.label, h.start_s, wanted, end_s=h.end_s)
    except HypelineError as e:
        st.session_state[error_key] = str(e)


def start(analysis: Analysis, highlights: list[Highlight], settings: ShortSettings, home: Path) -> None:  # fmt: skip
    """Render the shorts of ``highlights`` in the background (this session's one render)."""

    def work(render: Render) -> list[Path]:
        def show(p: Progress) -> None:
            render.progress = p

        return clipzip.render_shorts(
            analysis, highlights, settings, home, show, cancel=render.cancel,
            on_note=render.notes.append,
        )  # fmt: skip

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
    subset = pipeline.for_export(analysis, store)  # chosen and trimmed: what the exports hold
    running = render is not None and render.running
    made = (
        [clipzip.made_short(subset, h, settings, store.home) for h in subset.highlights]
        if settings is not None
        else []
    )
    paths = [p for p in made if p is not None]
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button(
            f"Render all {len(subset.highlights)}", key="clips_render_all", type="primary",
            icon=":material/movie:", disabled=settings is None or running or not subset.highlights
            or len(paths) == len(subset.highlights),
            help="Renders each short in the background, one after another; those already "
            "rendered are kept.",
        ):  # fmt: skip
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
                    f"Download all {len(paths)} (zip)", zipped.read_bytes,
                    file_name=f"{slugify(analysis.source.title)}-shorts.zip",
                    key="clips_download_all", icon=":material/folder_zip:",
                    mime="application/zip", on_click="ignore",
                )  # fmt: skip
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
            st.success(f"Rendered {len(render.paths)} short(s) into the library ({took}).",
                       icon=":material/check_circle:")  # fmt: skip
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
        "Cancel", key="clips_cancel", icon=":material/cancel:", width="stretch",
        help="Stops once the short being rendered is done; the finished ones are kept.",
    ):  # fmt: skip
        render.cancel.set()
    if render.cancel.is_set():
        bar_col.progress(fraction, text=f"Cancelling after the short being rendered… ({what})")
    else:
        bar_col.progress(fraction, text=f"Rendering: {what} done · {took} so far{eta}")
