"""Results of one analysis: scoring from stored vectors, the timeline, the table, the player.

Scoring reads the stored embeddings only (cached per analysis), so prompts, template and
thresholds re-score at once; nothing here touches the audio. A click on the timeline or
a Play tick in the table puts the time in ``st.session_state.seek_s`` for the player.
"""

from __future__ import annotations

import hashlib
import mimetypes
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emotion import atomic
from emotion.analysis import Analysis, score
from emotion.clock import clock
from emotion.library.store import AnalysisRecord, Store, review_key
from emotion.media import disk
from emotion.media.audio import ffmpeg_exe
from emotion.media.sources import Source
from emotion.model.clap import Clap
from ui import timeline
from ui.sidebar import Settings

# Streamlit's player reads a file whole into memory (and hashes it) on every rerun, so a
# bigger VOD plays through a light audio preview made once with ffmpeg.
PLAYER_MAX_BYTES = 256 * 1024 * 1024
PREVIEW_BITRATE = "48k"


@st.cache_resource(max_entries=8, show_spinner=False)
def _vectors(home: str, analysis_id: int, n_done: int, updated: float) -> np.ndarray:
    # Keyed by the record's progress and last change: a repaired analysis is read again.
    store = Store(Path(home))
    vectors = store.vectors(store.analysis(analysis_id))
    vectors.flags.writeable = False  # shared by every session
    return vectors


def scored(record: AnalysisRecord, store: Store, clap: Clap, settings: Settings) -> Analysis:
    """The analysis with the sidebar's prompts and thresholds, from the stored embeddings."""
    vectors = _vectors(str(store.home), record.id, record.n_done, record.updated)
    return score(
        record, vectors, clap, settings.labels, settings.background, settings.template,
        settings.highlights,
    )  # fmt: skip


def show_timeline(analysis: Analysis, settings: Settings, store: Store) -> None:
    reviews = store.reviews(analysis.analysis_id or 0)
    dropped = {k for k, accepted in reviews.items() if not accepted}
    fig = timeline.figure(
        analysis, settings.colors, settings.highlights.threshold,
        settings.highlights.smoothing_s, dropped,
    )  # fmt: skip
    st.plotly_chart(
        fig, key="timeline", on_select=_on_timeline, selection_mode=("points", "box"),
        config={"displaylogo": False},
    )  # fmt: skip
    st.caption(
        "Click a line, a band or a star to play from there; drag to zoom, double-click to zoom out."
    )


def _on_timeline() -> None:
    t = timeline.selected_time(st.session_state.timeline.selection)
    if t is not None:
        st.session_state.seek_s = t


def highlight_table(analysis: Analysis, store: Store) -> None:
    """Label, start, end, score, play and keep; ticks are saved in the library at once."""
    aid = analysis.analysis_id or 0
    reviews = store.reviews(aid)
    hs = analysis.highlights
    table = pd.DataFrame(
        {
            "play": pd.Series([False] * len(hs), dtype=bool),
            "moment": pd.Series([h.label for h in hs], dtype=object),
            "start": pd.Series([clock(h.start_s) for h in hs], dtype=object),
            "end": pd.Series([clock(h.end_s) for h in hs], dtype=object),
            "score": pd.Series([h.score for h in hs], dtype=float),
            "keep": pd.Series(
                [reviews.get(review_key(h.label, h.start_s)) is True for h in hs], dtype=bool
            ),
        }
    )
    key = f"highlights_{st.session_state.get('table_version', 0)}"
    st.data_editor(
        table, key=key, hide_index=True, disabled=["moment", "start", "end", "score"],
        column_config={
            "play": st.column_config.CheckboxColumn("Play", help="Play from here", width=50),
            "moment": st.column_config.TextColumn("Moment"),
            "start": st.column_config.TextColumn("Start", width=65),
            "end": st.column_config.TextColumn("End", width=65),
            "score": st.column_config.ProgressColumn(
                "Score", min_value=0.0, max_value=1.0, format="percent", width=110
            ),
            "keep": st.column_config.CheckboxColumn(
                "Keep", width=55, help="Tick what to export; with none ticked, all of them."
            ),
        },
        on_change=_on_table, args=(key, aid, [review_key(h.label, h.start_s) for h in hs]),
    )  # fmt: skip
    if not hs:
        st.caption("No highlight at this threshold: lower it in the sidebar.")


def _on_table(key: str, analysis_id: int, keys: list[tuple[str, float]]) -> None:
    store = Store()
    for row, change in st.session_state[key]["edited_rows"].items():
        label, start_s = keys[int(row)]
        if "keep" in change:  # ticked: accepted; unticked again: rejected
            store.set_review(analysis_id, label, start_s, bool(change["keep"]))
        if change.get("play"):
            st.session_state.seek_s = start_s
    # A fresh editor drawn from the store: the Play ticks do not stay ticked.
    st.session_state.table_version = st.session_state.get("table_version", 0) + 1


def player(source: Source, home: Path, audio_track: int = 1) -> None:
    """``st.video`` for video, ``st.audio`` otherwise, at ``st.session_state.seek_s``.

    A browser plays a file's first audio track only, so another track is played from an
    audio preview of that track.
    """
    start = int(st.session_state.get("seek_s", 0))
    autoplay = "seek_s" in st.session_state
    path = source.path
    if not path.is_file():
        st.info(f"{path} is gone (moved or deleted), so there is nothing to play; the timeline and exports still work.")  # fmt: skip
        return
    st.caption(f"Playing from {clock(start)}")
    if path.stat().st_size <= PLAYER_MAX_BYTES and audio_track == 1:
        mime = mimetypes.guess_type(path.name)[0]
        if source.has_video:
            st.video(str(path), format=mime or "video/mp4", start_time=start, autoplay=autoplay)
        else:
            st.audio(str(path), format=mime or "audio/mpeg", start_time=start, autoplay=autoplay)
        return
    preview = _preview(source, home, audio_track)
    if preview is not None:
        st.audio(str(preview), format="audio/mp4", start_time=start, autoplay=autoplay)
        st.caption("A light audio preview of this long VOD; exports and clips use the original.")


def _preview(source: Source, home: Path, audio_track: int = 1) -> Path | None:
    """A small mono AAC copy of one audio track of the VOD, made once with ffmpeg (with progress)."""
    st_ = source.path.stat()
    track = f"|{audio_track}" if audio_track != 1 else ""  # track 1 keeps its older key
    key = hashlib.sha256(f"{source.path.resolve()}|{st_.st_size}|{st_.st_mtime_ns}{track}".encode())
    preview = home / "previews" / f"{key.hexdigest()[:16]}.m4a"
    if preview.is_file():
        disk.mark_used(preview, home)  # the disk budget evicts the least recently used
        return preview
    preview.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_beside(preview, ".m4a")  # ffmpeg picks the format by the extension
    cmd = [
        ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", "-i", str(source.path),
        "-map", f"0:a:{audio_track - 1}", "-vn",
        "-ac", "1", "-c:a", "aac", "-b:a", PREVIEW_BITRATE, "-progress", "pipe:1", "-nostats",
        str(tmp),
    ]  # fmt: skip
    bar = st.progress(0.0, text="Preparing a light audio preview for the player (once)…")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            value = line.removeprefix("out_time_us=").strip()
            if value != line.strip() and value.isdigit() and source.duration_s:
                done_s = int(value) / 1e6
                bar.progress(min(1.0, done_s / source.duration_s), text=_preview_text(done_s))
        _, err = proc.communicate()
    bar.empty()
    if proc.returncode != 0:
        atomic.discard(tmp)
        reason = (err or "").strip().splitlines()[-1:] or ["ffmpeg failed"]
        st.warning(f"No preview for the player ({reason[0]}); the timeline and exports still work.")
        return None
    atomic.commit(tmp, preview)
    return preview


def _preview_text(done_s: float) -> str:
    return f"Preparing a light audio preview for the player (once): {clock(done_s)} done"
