"""Results of one analysis: scoring from stored vectors, the timeline, the table, the player.

Scoring reads the stored embeddings only (cached per analysis), so prompts, template and
thresholds re-score at once; nothing here touches the audio. A click on the timeline or
a Play button in the table is a ``PlayPoint`` of that analysis for the player: the only
things that move its playhead (a sidebar change re-draws the same player, untouched).
"""

from __future__ import annotations

import base64
import math
import mimetypes
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from emotion import pipeline
from emotion.analysis import Analysis
from emotion.chat import stored as stored_chat
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.export.thumbnails import write_stills
from emotion.library.records import AnalysisRecord, review_key
from emotion.library.store import Store
from emotion.media.preview import preview
from emotion.media.source import Source
from emotion.progress import Progress
from ui import timeline
from ui.sidebar import Settings

if TYPE_CHECKING:  # the model module imports torch (seconds); the first view does not wait for it
    from emotion.model.clap import Clap

# Streamlit's player reads a file whole into memory (and hashes it) on every rerun, so a
# bigger VOD plays through a light audio preview (emotion.media.preview).
PLAYER_MAX_BYTES = 256 * 1024 * 1024
PLAY_KEY = "play_point"
PLAY_LABEL = ":material/play_arrow: Play"
THUMBNAILS_DIR = "thumbnails"  # <library home>/thumbnails/<analysis id>/: the table's stills


@dataclass(frozen=True)
class PlayPoint:
    """Where Play was last pressed: the player starts there and autoplays, once per press."""

    analysis_id: int
    start_s: float
    end_s: float | None = None  # None: plays on past the highlight's end
    press: int = 0  # pressing Play on the same moment again seeks there again


@st.cache_resource(max_entries=8, show_spinner=False)
def _vectors(home: str, analysis_id: int, n_done: int, updated: float) -> np.ndarray:
    # Keyed by the record's progress and last change: a repaired analysis is read again.
    store = Store(Path(home))
    vectors = store.vectors(store.analysis(analysis_id))
    vectors.flags.writeable = False  # shared by every session
    return vectors


def scored(record: AnalysisRecord, store: Store, clap: Clap, settings: Settings) -> Analysis:
    """The analysis with the sidebar's prompts and thresholds, from the stored embeddings
    (the moments kept from Search among its highlights)."""
    vectors = _vectors(str(store.home), record.id, record.n_done, record.updated)
    return pipeline.moments(record, store, clap, settings.pipeline, vectors=vectors)


def show_timeline(analysis: Analysis, settings: Settings, store: Store) -> None:
    reviews = store.reviews(analysis.analysis_id or 0)
    dropped = {k for k, accepted in reviews.items() if not accepted}
    chat = (
        stored_chat.load(store, analysis.analysis_id, settings.chat_keywords)
        if analysis.analysis_id
        else None
    )
    fig = timeline.figure(
        analysis,
        settings.colors,
        settings.highlights.threshold,
        settings.highlights.smoothing_s,
        dropped,
        chat.reactions.series if chat else None,
    )
    ends = {h.start_s: h.end_s for h in analysis.highlights}  # a band or a star: its span
    st.plotly_chart(
        fig,
        key="timeline",
        on_select=partial(_on_timeline, analysis.analysis_id or 0, ends),
        selection_mode=("points", "box"),
        config={"displaylogo": False},
    )
    lane = " (or a bar of the chat lane: messages per 10 s, spikes in orange)" if chat else ""
    st.caption(
        f"Click a line, a band or a star{lane} to play from there; drag to zoom, double-click to zoom out."
    )


def _on_timeline(analysis_id: int, ends: dict[float, float]) -> None:
    t = timeline.selected_time(st.session_state.timeline.selection)
    if t is not None:
        _play(analysis_id, t, ends.get(t))


def _play(analysis_id: int, start_s: float, end_s: float | None) -> None:
    last: PlayPoint | None = st.session_state.get(PLAY_KEY)
    keep_playing = bool(st.session_state.get("keep_playing"))
    st.session_state[PLAY_KEY] = PlayPoint(
        analysis_id, start_s, None if keep_playing else end_s, (last.press + 1) if last else 0
    )


def play_point(analysis_id: int) -> PlayPoint | None:
    """The last Play of this analysis; one of another analysis is dropped (a new one starts silent)."""
    point: PlayPoint | None = st.session_state.get(PLAY_KEY)
    if point is not None and point.analysis_id != analysis_id:
        del st.session_state[PLAY_KEY]
        return None
    return point


def highlight_table(analysis: Analysis, store: Store) -> None:
    """Play, a still (video only), label, start, end, score, keep and why; ticks are saved
    in the library at once."""
    aid = analysis.analysis_id or 0
    reviews = store.reviews(aid)
    hs = analysis.highlights
    stills = thumbnails(analysis, store.home)
    columns: dict[str, pd.Series] = {"play": pd.Series([PLAY_LABEL] * len(hs), dtype=object)}
    if stills is not None:
        columns["thumbnail"] = pd.Series(stills, dtype=object)
    table = pd.DataFrame(
        columns
        | {
            "moment": pd.Series([h.label for h in hs], dtype=object),
            "start": pd.Series([clock(h.start_s) for h in hs], dtype=object),
            "end": pd.Series([clock(h.end_s) for h in hs], dtype=object),
            "score": pd.Series([h.score for h in hs], dtype=float),
            "keep": pd.Series(
                [reviews.get(review_key(h.label, h.start_s)) is True for h in hs], dtype=bool
            ),
            "why": pd.Series([h.why() for h in hs], dtype=object),
        }
    )
    key = f"highlights_{st.session_state.get('table_version', 0)}"
    st.data_editor(
        table,
        key=key,
        hide_index=True,
        disabled=["thumbnail", "moment", "start", "end", "score", "why"],
        column_config={
            "play": st.column_config.ButtonColumn(
                "Play",
                width=72,
                type="tertiary",
                key="play_click",
                on_click=_on_play,
                args=(aid, [(h.start_s, h.end_s) for h in hs]),
                help="Play this highlight, from its start to its end",
            ),
            "thumbnail": st.column_config.ImageColumn(
                "Still", width=60, help="The video at this highlight's peak"
            ),
            "moment": st.column_config.TextColumn("Moment"),
            "start": st.column_config.TextColumn("Start", width=65),
            "end": st.column_config.TextColumn("End", width=65),
            "score": st.column_config.ProgressColumn(
                "Score", min_value=0.0, max_value=1.0, format="percent", width=96
            ),
            "keep": st.column_config.CheckboxColumn(
                "Keep", width=62, help="Tick what to export; with none ticked, all of them."
            ),
            "why": st.column_config.TextColumn(
                "Why", help="The peak, and how far above this VOD's usual level for the moment"
            ),
        },
        on_change=_on_table,
        args=(key, aid, [review_key(h.label, h.start_s) for h in hs]),
    )
    if not hs:
        st.caption("No highlight at this threshold: lower it in the sidebar.")


def thumbnails(analysis: Analysis, home: Path) -> list[str | None] | None:
    """A small still per highlight as a ``data:`` URI (None where the video has no frame
    there); None, so no column at all, for audio, a file gone or ffmpeg failing.

    Stills are made once, into ``home/thumbnails/<analysis id>/``, and kept there.
    """
    source = analysis.source
    if not source.has_video or not analysis.highlights or analysis.analysis_id is None:
        return None
    try:
        stat = source.path.stat()
    except OSError:
        return None
    folder = home / THUMBNAILS_DIR / str(analysis.analysis_id)
    peaks = tuple(h.peak_s for h in analysis.highlights)
    try:
        return _stills(str(source.path), stat.st_mtime_ns, stat.st_size, str(folder), peaks)
    except (HypelineError, OSError):
        return None  # the table goes on without its stills (and the next rerun tries again)


@st.cache_data(max_entries=32, show_spinner="Taking a still of each highlight…")
def _stills(
    path: str, mtime_ns: int, size: int, folder: str, peaks: tuple[float, ...]
) -> list[str | None] | None:
    # Keyed by the file's mtime and size too: a replaced file is looked at again.
    stills = write_stills(Path(path), peaks, Path(folder))
    uris = {peak: _data_uri(p.read_bytes()) for peak, p in stills.items()}
    return [uris.get(peak) for peak in peaks] if uris else None


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _on_play(analysis_id: int, spans: list[tuple[float, float]]) -> None:
    click = st.session_state.play_click
    if click is not None and 0 <= click["row"] < len(spans):
        _play(analysis_id, *spans[click["row"]])


def _on_table(key: str, analysis_id: int, keys: list[tuple[str, float]]) -> None:
    store = Store()
    for row, change in st.session_state[key]["edited_rows"].items():
        label, start_s = keys[int(row)]
        if "keep" in change:  # ticked: accepted; unticked again: rejected
            store.set_review(analysis_id, label, start_s, bool(change["keep"]))
    # A fresh editor drawn from the store, which is what it shows.
    st.session_state.table_version = st.session_state.get("table_version", 0) + 1


def analysis_player(record: AnalysisRecord, home: Path) -> PlayPoint | None:
    """The player of the Analyze page, at the last Play of this analysis; that Play point.

    Before any Play it sits at 0:00, silent. A Play plays its highlight and stops at the
    end (or plays on, with "Keep playing" on when it was pressed).
    """
    point = play_point(record.id)
    if point is None:
        _player(record.source, home, record.audio_track, 0)
    else:
        _player(
            record.source,
            home,
            record.audio_track,
            point.start_s,
            point.end_s,
            autoplay=True,
            press=point.press,
        )
    st.toggle(
        "Keep playing past the end",
        key="keep_playing",
        help="For the next Play: play on past the highlight's end instead of stopping there.",
    )
    return point


def player(source: Source, home: Path, audio_track: int = 1) -> None:
    """``st.video`` for video, ``st.audio`` otherwise, at ``st.session_state.seek_s``."""
    start = st.session_state.get("seek_s", 0)
    _player(source, home, audio_track, start, autoplay="seek_s" in st.session_state)


def moment_player(
    source: Source,
    home: Path,
    audio_track: int,
    start_s: float,
    end_s: float,
    *,
    autoplay: bool = False,
    press: int = 0,
) -> None:
    """The player of one moment, from its start to its end (the Clips page's cards)."""
    _player(source, home, audio_track, start_s, end_s, autoplay=autoplay, press=press)


def _player(
    source: Source,
    home: Path,
    audio_track: int,
    start_s: float,
    end_s: float | None = None,
    autoplay: bool = False,
    press: int = 0,
) -> None:
    """``st.video`` for video, ``st.audio`` otherwise, from ``start_s`` to ``end_s``.

    Streamlit re-seeks and autoplays a player only when its arguments change (it keeps
    one "autoplayed" mark per element): the same arguments on every rerun leave the
    playhead alone, and ``press`` (in ``alt``) makes a repeated Play a new element.
    A browser plays a file's first audio track only, so another track is played from an
    audio preview of that track.
    """
    path = source.path
    if not path.is_file():
        st.info(
            f"{path} is gone (moved or deleted), so there is nothing to play; the timeline and exports still work."
        )
        return
    start = int(start_s)
    end = None if end_s is None else max(math.ceil(end_s), start + 1)  # whole seconds, rounded out
    st.caption(f"Playing from {clock(start)}" + (f" to {clock(end)}" if end is not None else ""))
    alt = f"{source.title} from {clock(start)}" + (f" (play {press})" if press else "")
    if path.stat().st_size <= PLAYER_MAX_BYTES and audio_track == 1:
        mime = mimetypes.guess_type(path.name)[0]
        if source.has_video:
            st.video(
                str(path),
                format=mime or "video/mp4",
                start_time=start,
                end_time=end,
                autoplay=autoplay,
                alt=alt,
            )
        else:
            st.audio(
                str(path),
                format=mime or "audio/mpeg",
                start_time=start,
                end_time=end,
                autoplay=autoplay,
                alt=alt,
            )
        return
    preview = _preview(source, home, audio_track)
    if preview is not None:
        st.audio(
            str(preview),
            format="audio/mp4",
            start_time=start,
            end_time=end,
            autoplay=autoplay,
            alt=alt,
        )
        st.caption("A light audio preview of this long VOD; exports and clips use the original.")


def _preview(source: Source, home: Path, audio_track: int = 1) -> Path | None:
    """The light audio preview of one track (made once, with a progress bar)."""
    bar = st.progress(0.0, text="Preparing a light audio preview for the player (once)…")

    def show(p: Progress) -> None:
        bar.progress(p.fraction or 0.0, text=_preview_text(float(p.message.removesuffix(" s"))))

    try:
        return preview(source, home, audio_track, progress=show)
    except HypelineError as e:
        st.warning(f"{e} The timeline and exports still work.")
        return None
    finally:
        bar.empty()


def _preview_text(done_s: float) -> str:
    return f"Preparing a light audio preview for the player (once): {clock(done_s)} done"
