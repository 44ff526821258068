"""The pipeline's export half: which highlights the exports hold, and their files.

* ``chosen``      the highlights the exports hold: the kept ones, or all but the dropped.
* ``trimmed``     those highlights with the edges the user moved (``Store.set_trim``).
* ``for_export``  an analysis with only those, trimmed: what every face exports.
* ``export`` / ``export_files``  the chosen highlights → files in a folder / as bytes,
                  with thumbnails, shorts and a reel rendered when asked.

``pipeline.run`` ends here; the faces call it directly to export a scored analysis.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion.analysis import Analysis
from emotion.export import FILENAMES, FORMATS, write_exports
from emotion.export.post_settings import ReelSettings, ShortSettings
from emotion.export.reel import write_reel
from emotion.export.shorts import write_shorts
from emotion.export.thumbnails import write_thumbnails
from emotion.library.records import Trim, review_key
from emotion.library.store import Store
from emotion.progress import ProgressFn
from emotion.scoring.highlights import Highlight, overlaps_moment

Note = Callable[[str], None]


@dataclass(frozen=True)
class ExportSettings:
    """Which files to write, and how."""

    formats: tuple[str, ...] = FORMATS
    clips: bool = False
    clip_padding_s: float = 1.0
    fps: float | None = None  # the EDL's and FCPXML's frame rate; None: the video's, else 30
    thumbnails: bool = False  # also a JPEG still per highlight in thumbnails/ (at its peak)
    shorts: ShortSettings | None = None  # also a vertical short per highlight in shorts/
    reel: ReelSettings | None = None  # also reel.mp4 (and reel-chapters.txt) of the best ones


def chosen(
    highlights: Sequence[Highlight],
    reviews: Mapping[tuple[str, float], bool],
    moments: Sequence[tuple[str, float, float]] = (),
) -> list[Highlight]:
    """The highlights the exports hold: the kept ones; while none is kept, all but the
    dropped ones (so before any review, all of them). A highlight holding a moment kept by
    hand (``moments``) is kept, unless it was dropped itself."""

    def status(h: Highlight) -> bool | None:
        said = reviews.get(review_key(h.label, h.start_s))
        return True if said is None and overlaps_moment(h, moments) else said

    marks = [status(h) for h in highlights]
    kept = [h for h, s in zip(highlights, marks, strict=True) if s is True]
    return kept or [h for h, s in zip(highlights, marks, strict=True) if s is not False]


def trimmed(
    highlights: Sequence[Highlight],
    trims: Mapping[tuple[str, float], Trim],
    duration_s: float | None = None,
) -> list[Highlight]:
    """The highlights with the edges the user moved (``Trim``, by review key), inside the
    VOD and at least ``MIN_TRIMMED_S`` long, the peak kept inside; in time order."""
    out = []
    for h in highlights:
        trim = trims.get(review_key(h.label, h.start_s))
        if trim is not None and trim.moved:
            start_s, end_s = trim.span(h.start_s, h.end_s, duration_s)
            peak_s = min(max(h.peak_s, start_s), end_s)
            h = dataclasses.replace(h, start_s=start_s, end_s=end_s, peak_s=peak_s)
        out.append(h)
    return sorted(out, key=lambda h: (h.start_s, h.label))


def for_export(analysis: Analysis, store: Store, *, trim: bool = True) -> Analysis:
    """``analysis`` with only the highlights its exports hold (by the library's reviews),
    each trimmed as the user trimmed it (``trim=False``: as found, to tell which were chosen)."""
    if analysis.analysis_id is None:
        return analysis
    reviews = store.reviews(analysis.analysis_id)
    moments = store.kept_moments(analysis.analysis_id)
    picked = chosen(analysis.highlights, reviews, moments)
    if trim:
        picked = trimmed(picked, store.trims(analysis.analysis_id), analysis.duration_s or None)
    return dataclasses.replace(analysis, highlights=picked)


def export(
    analysis: Analysis,
    store: Store,
    out_dir: Path,
    exports: ExportSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    on_note: Note | None = None,
) -> list[Path]:
    """Write the chosen highlights' files into ``out_dir`` (all or nothing); the paths.

    With ``exports.thumbnails``, ``thumbnails/`` follows: each still is written whole and
    one already there is kept (``emotion.export.thumbnails``); an audio-only source gets
    none, and a note. Then, with ``exports.shorts``, ``shorts/`` (one vertical short per
    highlight, one already there kept: ``emotion.export.shorts``) and, with
    ``exports.reel``, ``reel.mp4`` and its chapters (``emotion.export.reel``), of the same
    highlights; with no highlights there is nothing to render, and a note says so.
    """
    exports = exports or ExportSettings()
    analysis = for_export(analysis, store)
    written = write_exports(
        analysis,
        out_dir,
        exports.formats,
        clips=exports.clips,
        clip_padding_s=exports.clip_padding_s,
        fps=exports.fps,
        progress=progress,
        on_note=on_note,
    )
    if exports.thumbnails:
        source = analysis.source
        stills = write_thumbnails(
            source.path, analysis.highlights, out_dir, progress, has_video=source.has_video
        )
        written += stills.paths
        for note in stills.notes:
            if on_note is not None:
                on_note(note)
    if exports.shorts is not None or exports.reel is not None:
        written += _posts(analysis, out_dir, exports, progress, on_note)
    return written


def _posts(
    analysis: Analysis,
    out_dir: Path,
    exports: ExportSettings,
    progress: ProgressFn | None,
    on_note: Note | None,
) -> list[Path]:
    """The shorts and the reel of ``analysis``'s highlights, as ``hypeline shorts`` makes them."""
    if not analysis.highlights:
        if on_note is not None:
            asked = (("shorts", exports.shorts), ("a reel", exports.reel))
            what = " or ".join(name for name, on in asked if on is not None)
            on_note(
                f"There are no highlights to make {what} of; lower the threshold or keep a "
                "moment by hand first."
            )
        return []
    source = analysis.source
    written: list[Path] = []
    if exports.shorts is not None:
        written += write_shorts(
            source,
            analysis.highlights,
            out_dir,
            exports.shorts,
            progress,
            audio_track=analysis.audio_track,
            on_note=on_note,
        )
    if exports.reel is not None:
        made = write_reel(
            source.path,
            analysis.highlights,
            out_dir,
            exports.reel,
            progress,
            audio_track=analysis.audio_track,
            has_video=source.has_video,
            on_note=on_note,
        )
        written += [made.path, *([made.chapters] if made.chapters else [])]
    return written


def export_files(
    analysis: Analysis, store: Store, formats: Iterable[str] = FORMATS
) -> tuple[dict[str, bytes], list[str]]:
    """Each format's file of the chosen highlights as bytes, and the writers' notes."""
    formats = list(formats)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hypeline-export-") as tmp:
        export(analysis, store, Path(tmp), ExportSettings(tuple(formats)), on_note=notes.append)
        return {fmt: (Path(tmp) / FILENAMES[fmt]).read_bytes() for fmt in formats}, notes
