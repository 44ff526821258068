"""The export panel: one download per format over the kept highlights, and the clips as a zip.

Which highlights: the ones ticked Keep; while none is ticked, every one not unticked
(so before any review, all of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.errors import HypelineError
from emotion.export import FILENAMES, clipzip
from emotion.export.clips import slugify
from emotion.library.records import review_key
from emotion.library.store import Store
from emotion.progress import Progress
from emotion.scoring.highlights import Highlight

BUTTONS = {  # format: (label, help), in the order shown
    "chapters": ("YouTube chapters", "Paste into the VOD's description on YouTube."),
    "edl": ("EDL", "Markers for Premiere Pro, DaVinci Resolve, Avid."),
    "fcpxml": ("FCPXML", "Markers for Final Cut Pro and DaVinci Resolve."),
    "srt": ("SRT", "Subtitles naming each moment while it plays."),
    "csv": ("CSV", "A spreadsheet of the highlights."),
    "json": ("JSON", "Everything, for scripts and tools."),
}


def panel(analysis: Analysis, store: Store) -> None:
    subset = pipeline_export.for_export(analysis, store)
    chosen = subset.highlights
    st.markdown(f"**Export {len(chosen)} of {len(analysis.highlights)} highlights**")
    # which, untrimmed
    as_found = pipeline_export.for_export(analysis, store, trim=False).highlights
    if (why := which(analysis, as_found, store.reviews(analysis.analysis_id or 0))) is not None:
        st.caption(f":material/filter_alt: {why}")
    try:
        data, notes = pipeline_export.export_files(analysis, store, BUTTONS)
    except HypelineError as e:
        st.error(str(e))
        return
    stem = slugify(analysis.source.title)
    with st.container(horizontal=True):
        for fmt, (label, tip) in BUTTONS.items():
            st.download_button(
                label,
                data[fmt],
                file_name=f"{stem}-{FILENAMES[fmt]}",
                key=f"download_{fmt}",
                help=tip,
                on_click="ignore",
                icon=":material/download:",
                type="primary" if fmt == "chapters" else "secondary",
            )
        _clips(subset, store.home, stem)
    for note in notes:
        st.caption(f":material/info: {note}")


def which(
    analysis: Analysis, chosen: list[Highlight], reviews: Mapping[tuple[str, float], bool]
) -> str | None:
    """Why the exports hold fewer than all the highlights, with how to change it (None: all)."""
    total = len(analysis.highlights)
    if len(chosen) == total:
        return None
    # pipeline_export.chosen holds the rule; this only tells which of its two cases gave ``chosen``.
    unticked = [
        h for h in analysis.highlights if reviews.get(review_key(h.label, h.start_s)) is False
    ]
    if chosen == [h for h in analysis.highlights if h not in unticked]:
        n = len(unticked)
        return (
            f"Exporting {len(chosen)} of {_count(total, 'highlight')}: the {n} you unticked "
            f"{'is' if n == 1 else 'are'} left out."
        )
    return (
        f"Exporting your {_count(len(chosen), 'kept moment')} of {total} — untick Keep to "
        "export the others."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _clips(subset: Analysis, home: Path, stem: str) -> None:
    """Cutting clips takes a while: prepared on demand (with progress), then downloadable."""
    if (zip_path := clipzip.made(subset, home)) is not None:
        st.download_button(
            "Clips (zip)",
            zip_path.read_bytes,
            file_name=f"{stem}-clips.zip",
            key="download_clips",
            on_click="ignore",
            icon=":material/movie:",
            mime="application/zip",
        )
        return
    if not st.button(
        "Prepare clips",
        key="prepare_clips",
        icon=":material/movie:",
        disabled=not subset.highlights,
        help="Cuts one clip per highlight.",
    ):
        return
    bar = st.progress(0.0, text="Cutting clips…")

    def progress(p: Progress) -> None:
        bar.progress(p.fraction or 0.0, text=f"Cutting clips: {p.message.removesuffix(' files')}")

    try:
        clipzip.make(subset, home, progress)
    except HypelineError as e:
        st.error(str(e))
        return
    finally:
        bar.empty()
    st.rerun()  # shows the download button in place of this one
