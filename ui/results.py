"""Results of one analysis: scoring from stored vectors, the timeline, the table, the player.

Scoring reads the stored embeddings only (cached per analysis), so prompts, template and
thresholds re-score at once; nothing here touches the audio. A click on the timeline or
a Play tick in the table puts the time in ``st.session_state.seek_s`` for the player.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emotion import pipeline
from emotion.analysis import Analysis
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import AnalysisRecord, Store, review_key
from emotion.media.preview import preview
from emotion.media.source import Source
from emotion.model.clap import Clap
from emotion.progress import Progress
from ui import timeline
from ui.sidebar import Settings

# Streamlit's player reads a file whole into memory (and hashes it) on every rerun, so a
# bigger VOD plays through a light audio preview (emotion.media.preview).
PLAYER_MAX_BYTES = 256 * 1024 * 1024


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
