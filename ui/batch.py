"""Many VODs from the Library page: a folder, files, a list or a channel, analysed in turn.

The dashboard's face of ``emotion.batch``: each VOD is embedded as the Analyze page would
(one analysis each in the library, with the sidebar's model) and scored with the
sidebar's prompts for the table. It runs in the page, under ``st.status``, a VOD after
another; leaving the page or pressing Stop stops it between two writes, and pressing
Analyze all again goes on where it stopped (what was embedded is kept).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from emotion import pipeline
from emotion.batch import CSV_NAME, Done, Outcome, run_batch
from emotion.batch_inputs import expand
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.progress import Progress
from ui import model, results
from ui.sidebar import Settings

RESULT_KEY = "batch_result"


def panel(store: Store, settings: Settings) -> None:
    """The "Analyze many VODs" box, and the last batch's table."""
    with st.expander(
        "Analyze many VODs", icon=":material/playlist_add:", expanded=RESULT_KEY in st.session_state
    ):
        text = st.text_area(
            "VODs, one a line",
            key="batch_inputs",
            height=110,
            placeholder="/videos/2026 (a folder: its media files)\n/videos/list.txt\nhttps://www.twitch.tv/somechannel/videos",
            help="Folders (searched for media files), files, .txt lists of paths and links, "
            "channel or playlist links (newest first). A VOD already analysed costs nothing.",
        )
        limit = st.number_input(
            "At most this many VODs of each channel (0: all)",
            min_value=0,
            value=0,
            step=1,
            key="batch_limit",
        )
        keep = st.checkbox(
            "Keep the downloaded media",
            value=True,
            key="batch_keep_media",
            help="Off: each link's download is deleted once it is embedded; its analysis stays (your own files are never deleted).",
        )
        if st.button(
            "Analyze all", key="batch_start", type="primary", icon=":material/play_arrow:"
        ):
            inputs = [line.strip() for line in text.splitlines() if line.strip()]
            _run(store, settings, inputs, int(limit) or None, keep)
        shown: tuple[list[Outcome], str] | None = st.session_state.get(RESULT_KEY)
        if shown is not None:
            _table(*shown)


def _run(
    store: Store, settings: Settings, inputs: list[str], limit: int | None, keep_media: bool
) -> None:
    if settings.problem:
        st.error(settings.problem)
        return
    clap = model.get(settings.model) if settings.model else None
    if clap is None:
        st.error(model.error(settings.model) or "Pick a model in the sidebar first.")
        return
    try:
        items = expand(inputs, limit=limit, on_note=_note)
    except HypelineError as e:
        st.error(str(e))
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = store.home / "exports" / f"batch-{stamp}"
    with st.status(f"Analyzing {len(items)} VOD(s)…", expanded=True) as status:
        overall, current = st.progress(0.0), st.progress(0.0)

        def show(p: Progress) -> None:
            eta = f", about {clock(p.eta_s)} left" if p.eta_s else ""
            bar = overall if p.stage == "batch" else current
            bar.progress(
                p.fraction or 0.0, text=f"{p.message}{eta}" if p.stage == "batch" else p.message
            )
            if p.stage == "batch":
                status.update(label=f"Analyzing: {p.message}{eta}")

        def one(spec: str) -> Done:
            source = pipeline.open_spec(spec, None, show)
            record = pipeline.embed(source, clap, store, progress=show, on_note=_note)
            analysis = results.scored(record, store, clap, settings)
            return Done(
                source.title, record.id, record.n_done, len(analysis.highlights), media=source.path
            )

        outcomes = run_batch(
            items, one, out, progress=show, on_note=_note, store=store, keep_media=keep_media
        )
        failed = sum(not o.ok for o in outcomes)
        status.update(
            label=f"Analyzed {len(outcomes) - failed} of {len(outcomes)} VOD(s)"
            + (f", {failed} failed" if failed else ""),
            state="error" if failed else "complete",
            expanded=False,
        )
    st.session_state[RESULT_KEY] = (outcomes, str(out / CSV_NAME))


def _note(text: str) -> None:
    st.caption(text)


def _table(outcomes: list[Outcome], csv_path: str) -> None:
    st.dataframe(
        pd.DataFrame(
            {
                "VOD": [o.title or o.spec for o in outcomes],
                "windows": [o.windows for o in outcomes],
                "highlights": [o.highlights for o in outcomes],
                "time": [clock(o.seconds) for o in outcomes],
                "error": [o.error or "" for o in outcomes],
            }
        ),
        hide_index=True,
        key="batch_table",
    )
    with open(csv_path, "rb") as f:
        st.download_button(
            "batch.csv",
            f.read(),
            file_name=CSV_NAME,
            mime="text/csv",
            key="batch_csv",
            icon=":material/download:",
        )
