"""The export panel: one download per format over the kept highlights, and the clips as a zip.

Which highlights: the ones ticked Keep; while none is ticked, every one not unticked
(so before any review, all of them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from emotion import atomic
from emotion.analysis import Analysis
from emotion.errors import HypelineError
from emotion.export import FILENAMES, write_exports
from emotion.export.clips import slugify
from emotion.library.store import review_key
from emotion.media import disk
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


def exported(
    highlights: list[Highlight], reviews: Mapping[tuple[str, float], bool]
) -> list[Highlight]:
    """The kept highlights; while none is kept, all but the dropped ones."""
    status = [reviews.get(review_key(h.label, h.start_s)) for h in highlights]
    kept = [h for h, s in zip(highlights, status, strict=True) if s is True]
    return kept or [h for h, s in zip(highlights, status, strict=True) if s is not False]


def files(analysis: Analysis) -> tuple[dict[str, bytes], list[str]]:
    """Each format's file as bytes, and the writers' notes (e.g. chapters adjusted)."""
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hypeline-export-") as tmp:
        write_exports(analysis, Path(tmp), list(BUTTONS), on_note=notes.append)
        return {fmt: (Path(tmp) / FILENAMES[fmt]).read_bytes() for fmt in BUTTONS}, notes


def panel(analysis: Analysis, reviews: Mapping[tuple[str, float], bool], home: Path) -> None:
    chosen = exported(analysis.highlights, reviews)
    subset = dataclasses.replace(analysis, highlights=chosen)
    st.markdown(f"**Export {len(chosen)} of {len(analysis.highlights)} highlights**")
    try:
        data, notes = files(subset)
    except HypelineError as e:
        st.error(str(e))
        return
    stem = slugify(analysis.source.title)
    with st.container(horizontal=True):
        for fmt, (label, tip) in BUTTONS.items():
            st.download_button(
                label, data[fmt], file_name=f"{stem}-{FILENAMES[fmt]}", key=f"download_{fmt}",
                help=tip, on_click="ignore", icon=":material/download:",
                type="primary" if fmt == "chapters" else "secondary",
            )  # fmt: skip
        _clips(subset, home, stem)
    for note in notes:
        st.caption(f":material/info: {note}")


def _clips(subset: Analysis, home: Path, stem: str) -> None:
    """Cutting clips takes a while: prepared on demand (with progress), then downloadable."""
    spans = "|".join(f"{h.label}@{h.start_s:.3f}-{h.end_s:.3f}" for h in subset.highlights)
    digest = hashlib.sha256(f"{subset.source.path}|{spans}".encode()).hexdigest()[:12]
    zip_path = home / "exports" / str(subset.analysis_id) / f"clips-{digest}.zip"
    if zip_path.is_file():
        disk.mark_used(zip_path, home)
        st.download_button(
            "Clips (zip)", zip_path.read_bytes, file_name=f"{stem}-clips.zip", key="download_clips",
            on_click="ignore", icon=":material/movie:", mime="application/zip",
        )  # fmt: skip
        return
    if not st.button("Prepare clips", key="prepare_clips", icon=":material/movie:",
                     disabled=not subset.highlights, help="Cuts one clip per highlight."):  # fmt: skip
        return
    bar = st.progress(0.0, text="Cutting clips…")

    def progress(p: Progress) -> None:
        bar.progress(p.fraction or 0.0, text=f"Cutting clips: {p.message.removesuffix(' files')}")

    try:
        with tempfile.TemporaryDirectory(prefix="hypeline-clips-") as tmp:
            clips = write_exports(subset, Path(tmp), [], clips=True, progress=progress)
            with (
                atomic.replacing(zip_path) as partial,
                zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as z,  # media is compressed
            ):
                for clip in clips:
                    z.write(clip, clip.name)
    except HypelineError as e:
        st.error(str(e))
        return
    except OSError as e:
        st.error(
            f"Could not write the clips in {zip_path.parent} ({e.strerror or e}); free some "
            "space and press Prepare clips again."
        )
        return
    finally:
        bar.empty()
    st.rerun()  # shows the download button in place of this one
