"""Export an analysis for people and editors: one module per file format, one entry point.

``get_writer(fmt)`` gives the writer of one format (``writer(analysis, path) -> notes``);
``write_exports`` writes several, and optionally the clips, all or nothing: every file is
written under a hidden temporary name in the output folder and renamed into place only
once all of them succeeded, so a failure leaves earlier exports as they were.

Modules: ``jsonfile``, ``csvfile`` (named so they do not read as the stdlib's ``json`` and
``csv``), ``chapters``, ``edl``, ``fcpxml``, ``srt``, ``clips``; ``timefmt`` holds the time
helpers they share.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from emotion import atomic
from emotion.analysis import Analysis
from emotion.errors import ExportError
from emotion.export import chapters, csvfile, edl, fcpxml, jsonfile, srt
from emotion.export.clips import cut_all, slugify
from emotion.progress import Progress, ProgressFn

Writer = Callable[[Analysis, Path], list[str]]

FORMATS = ("json", "csv", "chapters", "edl", "fcpxml", "srt")
FILENAMES = {
    "json": "highlights.json",
    "csv": "highlights.csv",
    "chapters": "chapters.txt",
    "edl": "highlights.edl",
    "fcpxml": "highlights.fcpxml",
    "srt": "highlights.srt",
}
CLIPS_DIR = "clips"

_WRITERS: dict[str, Writer] = {
    "json": jsonfile.write,
    "csv": csvfile.write,
    "chapters": chapters.write,
    "edl": edl.write,
    "fcpxml": fcpxml.write,
    "srt": srt.write,
}

logger = logging.getLogger(__name__)

__all__ = ["FILENAMES", "FORMATS", "get_writer", "parse_formats", "slugify", "write_exports"]


def get_writer(fmt: str) -> Writer:
    """The writer for ``fmt`` (one of ``FORMATS``): ``writer(analysis, path)`` returns notes."""
    try:
        return _WRITERS[fmt]
    except KeyError:
        raise ExportError(
            f"Unknown export format {fmt!r}; choose from {', '.join(FORMATS)}."
        ) from None


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """``"json, CSV"`` → ``["json", "csv"]``; ``"all"`` → every format; unknown names fail."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    fmts: list[str] = []
    for name in (n.strip().lower() for n in names):
        if name == "all":
            fmts += FORMATS
        elif name:
            get_writer(name)  # raises with the list of formats
            fmts.append(name)
    return list(dict.fromkeys(fmts))


def write_exports(
    analysis: Analysis,
    out_dir: Path,
    formats: Iterable[str],
    *,
    clips: bool = False,
    clip_padding_s: float = 1.0,
    fps: float | None = None,
    progress: ProgressFn | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write ``formats`` (and ``clips/`` when asked) into ``out_dir``; the paths written.

    ``fps`` overrides the source's frame rate for the EDL and FCPXML. ``progress`` gets
    a ``Progress("export", …)`` before the first file and after each file and clip; ``on_note`` gets each writer's notes
    (e.g. chapters adjusted for YouTube), which are logged when it is not given.
    ``clips/`` is replaced as a whole, so clips of an earlier export do not linger.
    """
    fmts = list(dict.fromkeys(formats))
    writers = [get_writer(fmt) for fmt in fmts]  # unknown formats fail before any file
    if fps is not None:
        if not fps > 0:
            raise ExportError(f"The frame rate must be a positive number of fps, not {fps}.")
        source = dataclasses.replace(analysis.source, fps=float(fps))
        analysis = dataclasses.replace(analysis, source=source)
    if clip_padding_s < 0:
        raise ExportError(f"Clip padding must be 0 s or more, not {clip_padding_s} s.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(
            f"Cannot create the output folder {out_dir} ({e.strerror}); pick a folder "
            "you can write to."
        ) from e

    total = len(fmts) + (len(analysis.highlights) if clips else 0)
    done = 0

    def report() -> None:
        if progress is not None:
            progress(Progress("export", done / max(total, 1), f"{done}/{total} files"))

    def step() -> None:
        nonlocal done
        done += 1
        report()

    report()
    notes: list[str] = []
    pending: list[tuple[Path, Path]] = []  # (temporary, final)
    clip_names: list[str] = []
    try:
        for fmt, writer in zip(fmts, writers, strict=True):
            final = out_dir / FILENAMES[fmt]
            tmp = atomic.temp_beside(final)
            pending.append((tmp, final))
            notes += writer(analysis, tmp)
            step()
        if clips:
            tmp_dir = atomic.temp_beside(out_dir / CLIPS_DIR)
            pending.append((tmp_dir, out_dir / CLIPS_DIR))
            tmp_dir.mkdir()
            for clip in cut_all(analysis, tmp_dir, clip_padding_s):
                clip_names.append(clip.name)
                step()
    except BaseException as e:
        for tmp, _ in pending:
            atomic.discard(tmp)
        if isinstance(e, OSError):
            raise ExportError(
                f"Could not write the exports in {out_dir} ({e.strerror or e}); check the "
                "free space and that you can write there."
            ) from e
        raise

    for tmp, final in pending:
        atomic.commit(tmp, final)
    for note in notes:
        if on_note is not None:
            on_note(note)
        else:
            logger.warning(note)
    written = [final for _, final in pending if final.name != CLIPS_DIR]
    return written + [out_dir / CLIPS_DIR / name for name in clip_names]
