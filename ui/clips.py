"""The Clips page's cards: which analysis, the short's look, a card per highlight.

A card shows a highlight as found (its still, its player, its times) with its trim: two
shifts of ±15 s stored in the library as soon as they change (``Store.set_trim``), so every
export sees them (``pipeline_export.for_export``). A card's "Render this" and the page's
"Render all" start ``ui.clips_render``'s background render.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.export import clipzip
from emotion.export.ffmpeg_tools import Picture, probe_picture
from emotion.export.layouts import check_facecam
from emotion.export.post_settings import LAYOUTS, ShortSettings
from emotion.library.records import MAX_TRIM_S, AnalysisRecord, Trim, review_key
from emotion.library.store import Store
from emotion.scoring.highlights import Highlight
from ui import clips_render, job_form, results

PLAYING_KEY = "clips_playing"
TRIM_STEP_S = 0.5
LAYOUT_HELP = {
    "blur": "The whole frame across the width, over a blurred, zoomed copy of itself.",
    "crop": "A 9:16 window of the frame (for gameplay centred on screen).",
    "split": "The face cam on top, the gameplay below: give the face cam's rectangle.",
}


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
        "Analysis",
        ids,
        index=ids.index(current) if current in records else 0,
        format_func=lambda i: job_form.describe(records[i]),
        key="clips_pick",
    )
    st.session_state.analysis_id = picked
    return records[picked]


def shown(analysis: Analysis, store: Store) -> list[Highlight]:
    """The highlights the exports hold (the kept ones when there are keeps), as found."""
    return pipeline_export.for_export(analysis, store, trim=False).highlights


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
            "Layout",
            LAYOUTS,
            default="blur",
            key="clips_layout",
            required=True,
            help=" ".join(f"{name}: {text}" for name, text in LAYOUT_HELP.items()),
        )
        title = right.text_input(
            "Title",
            "{label}",
            key="clips_title",
            help="Drawn on each short; {label} is the moment's label, {time} its time in the VOD.",
        )
        crop_x = None
        facecam = None
        if layout == "crop":
            crop_x = st.slider(
                "Crop position (left → right)", 0.0, 1.0, 0.5, 0.05, key="clips_crop_x"
            )
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
            st.markdown(
                f"**{index:02d} · {h.label}** · found {clock(h.start_s)}–{clock(h.end_s)}"
                f" · score {h.score:.0%}"
            )
            # Drawn from the library each run (a trim from the CLI shows; a refused one goes
            # back), and stored by the change itself, never by a rerun of a stale page.
            in_key, out_key, error_key = (f"clips_{k}_{slug}" for k in ("in", "out", "error"))
            st.session_state[in_key] = float(trim.start_shift_s)
            st.session_state[out_key] = float(trim.end_shift_s)
            args = (store.home, aid, h, in_key, out_key, error_key)
            start_col, end_col = st.columns(2)
            start_col.number_input(
                "Trim in (s)",
                -MAX_TRIM_S,
                MAX_TRIM_S,
                step=TRIM_STEP_S,
                key=in_key,
                on_change=_on_trim,
                args=args,
                help="Move the start: negative is earlier.",
            )
            end_col.number_input(
                "Trim out (s)",
                -MAX_TRIM_S,
                MAX_TRIM_S,
                step=TRIM_STEP_S,
                key=out_key,
                on_change=_on_trim,
                args=args,
                help="Move the end: positive is later.",
            )
            if (refused := st.session_state.pop(error_key, None)) is not None:
                st.error(refused)
            start_s, end_s = trim.span(h.start_s, h.end_s, analysis.duration_s or None)
            was = f" (was {h.end_s - h.start_s:.1f} s)" if trim.moved else ""
            st.caption(f"{clock(start_s)} → {clock(end_s)} · **{end_s - start_s:.1f} s**{was}")
        trimmed = pipeline_export.trimmed([h], {key: trim}, analysis.duration_s or None)[0]
        with act_col:
            playing = st.session_state.get(PLAYING_KEY)
            if st.button(
                "Play", key=f"clips_play_{slug}", icon=":material/play_arrow:", width="stretch"
            ):
                press = playing[2] + 1 if playing else 0
                st.session_state[PLAYING_KEY] = playing = (aid, key, press)
            made = (
                None
                if settings is None
                else clipzip.made_short(analysis, trimmed, settings, store.home)
            )
            if made is not None:
                st.download_button(
                    "Download short",
                    made.read_bytes,
                    file_name=clipzip.short_name(made),
                    key=f"clips_download_{slug}",
                    icon=":material/download:",
                    mime="video/mp4",
                    on_click="ignore",
                    type="primary",
                    width="stretch",
                )
            elif st.button(
                "Render this",
                key=f"clips_render_{slug}",
                icon=":material/movie:",
                disabled=settings is None or rendering,
                width="stretch",
            ):
                assert settings is not None
                clips_render.start(analysis, [trimmed], settings, store.home)
                st.rerun()
        if playing is not None and playing[:2] == (aid, key):  # one player on the page at a time
            with trim_col:
                results.moment_player(
                    analysis.source,
                    store.home,
                    analysis.audio_track,
                    start_s,
                    end_s,
                    autoplay=True,
                    press=playing[2],
                )


def _on_trim(
    home: Path, analysis_id: int, h: Highlight, in_key: str, out_key: str, error_key: str
) -> None:
    wanted = Trim(float(st.session_state[in_key]), float(st.session_state[out_key]))
    try:
        Store(home).set_trim(analysis_id, h.label, h.start_s, wanted, end_s=h.end_s)
    except HypelineError as e:
        st.session_state[error_key] = str(e)
