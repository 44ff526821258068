"""``thumbnails/``: one JPEG still per highlight, taken at its peak, to pick a video's cover.

Each still comes from the ``WINDOW_S`` (2 s) of video starting a second before the
highlight's peak (the loudest window is where the face or the play is): ffmpeg's
``thumbnail`` filter picks the frame most like the window's average, which skips the
black frame, the flash or the half-faded cut a frame at the exact peak can land on. The
window is sampled at ``SAMPLE_FPS`` before the filter holds it, so a 4K60 source buffers
24 scaled frames, not 120 full ones. The still is at most ``MAX_WIDTH`` wide with the
source's displayed aspect (square pixels, turned upright, even sides) and JPEG quality
``-q:v 3`` (ffmpeg's 2–31 scale, lower is better: sharp, and small enough to upload).

Files are named as the clips and shorts are (``01-win-celebration-0-01-05.jpg``: number
in time order, label, start time), so a highlight's clip, short and thumbnail sort
together. Each is written whole or not at all (``emotion.atomic``) and one already there
is kept, so a second run makes only the missing. An audio-only source has no picture:
no files are written and the result's notes say so, rather than the export failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emotion import atomic
from emotion.clock import clock
from emotion.errors import ExportError
from emotion.export.clips import clip_name
from emotion.export.ffmpeg_tools import Picture, probe_picture, run_ffmpeg
from emotion.export.timefmt import by_start
from emotion.media.audio import ffmpeg_exe
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight

THUMBNAILS_DIR = "thumbnails"
SUFFIX = ".jpg"
MAX_WIDTH = 1280
STILL_WIDTH = 160  # the dashboard table's stills (``write_stills``)
WINDOW_S = 2.0  # the stretch the frame is picked from
LEAD_S = 1.0  # how far before the peak that stretch starts
SAMPLE_FPS = 12.0  # frames the thumbnail filter weighs per second of the window
JPEG_QUALITY = 3


@dataclass(frozen=True)
class Thumbnails:
    """What ``write_thumbnails`` made: every thumbnail's path in time order (those already
    there included), and notes for the user (an audio-only source, a moment with no frame)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_thumbnails(
    source_path: Path,
    highlights: Sequence[Highlight],
    out_dir: Path,
    progress: ProgressFn | None = None,
    *,
    has_video: bool | None = None,
) -> Thumbnails:
    """Write one JPEG per highlight into ``out_dir/thumbnails/``.

    ``has_video=False`` treats a file with only cover art as audio; None probes the file.
    A thumbnail already there is kept (a second run makes only the missing ones).
    """
    if not highlights:
        return Thumbnails()
    if not source_path.is_file():
        raise ExportError(
            f"The media file {source_path} is gone, so no thumbnails can be made; analyse the "
            "VOD again or export without thumbnails."
        )
    picture = probe_picture(source_path) if has_video is not False else None
    if picture is None:
        return Thumbnails(notes=[f"{source_path.name} has no picture: no thumbnails."])
    ordered = by_start(list(highlights))
    folder = out_dir / THUMBNAILS_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(
            f"Cannot create the folder {folder} ({e.strerror}); pick a folder you can write to."
        ) from e
    outs = [folder / clip_name(i, len(ordered), h, SUFFIX) for i, h in enumerate(ordered, 1)]
    width, height = thumbnail_size(picture)
    notes: list[str] = []
    missing: set[Path] = set()
    # One writer of thumbnails/ at a time; what a killed one left half-made is swept first.
    with atomic.sole_writer(folder, what="thumbnails"):
        todo = [(h, out) for h, out in zip(ordered, outs, strict=True) if not out.exists()]

        def report(done: int, what: str) -> None:
            if progress is not None:
                fraction = done / max(len(todo), 1)
                progress(Progress("thumbnails", fraction, f"{done}/{len(todo)} thumbnails{what}"))

        skipped = len(outs) - len(todo)
        report(0, f" ({skipped} already there)" if skipped else "")
        for done, (h, out) in enumerate(todo, start=1):
            if not grab(source_path, out, max(0.0, h.peak_s - LEAD_S), width, height, picture):
                notes.append(
                    f"The video of {source_path.name} has no frame near {clock(h.peak_s)} "
                    f"({h.label}), so that highlight has no thumbnail."
                )
                missing.add(out)
            report(done, f": {out.name}")
    return Thumbnails([p for p in outs if p not in missing], notes)


def write_stills(
    source_path: Path, peaks_s: Sequence[float], folder: Path, *, width: int = STILL_WIDTH
) -> dict[float, Path]:
    """Small stills for a table, one per peak in ``peaks_s``: ``folder/<peak in ms>.jpg``.

    Picked as ``write_thumbnails`` picks its frames, at most ``width`` wide. Named by the
    peak alone, so a re-scoring that keeps a moment keeps its still; one already there is
    kept, and nothing is probed when every one is. Returns the stills there by peak: a peak
    past the video's end has none, and an audio-only or missing file none at all. ffmpeg's
    failures raise ``ExportError``, as ``write_thumbnails``' do.
    """
    outs = {peak: folder / f"{round(peak * 1000):09d}{SUFFIX}" for peak in peaks_s}
    todo = [(peak, out) for peak, out in outs.items() if not out.exists()]
    if todo:
        picture = probe_picture(source_path) if source_path.is_file() else None
        if picture is None:
            return {}
        size = thumbnail_size(picture, max_width=width)
        for peak, out in todo:
            grab(source_path, out, max(0.0, peak - LEAD_S), *size, picture)
    return {peak: out for peak, out in outs.items() if out.is_file()}


def thumbnail_size(picture: Picture, *, max_width: int = MAX_WIDTH) -> tuple[int, int]:
    """The still's size: the displayed frame (square pixels), at most ``max_width`` wide,
    both sides even (what JPEG's 4:2:0 and every player are happiest with)."""
    width = picture.width * picture.sar if abs(picture.sar - 1.0) > 0.01 else picture.width
    height = float(picture.height)
    if width > max_width:
        height *= max_width / width
        width = max_width
    return max(2, 2 * round(width / 2)), max(2, 2 * round(height / 2))


def grab(path: Path, out: Path, start_s: float, width: int, height: int, picture: Picture) -> bool:
    """Write the most representative frame of ``start_s``..+``WINDOW_S`` to ``out``,
    atomically; False when the window holds no frame (past the video's end)."""
    fps = min(picture.fps or SAMPLE_FPS, SAMPLE_FPS)
    frames = max(1, round(fps * WINDOW_S))
    chain = (
        f"fps={fps:.6g},scale={width}:{height}:flags=lanczos,setsar=1,"
        f"thumbnail=n={frames},format=yuvj420p"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_beside(out, SUFFIX)
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-ss",
        f"{start_s:.3f}",
        "-t",
        f"{WINDOW_S:.3f}",
        "-i",
        f"file:{path}",
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        chain,
        "-frames:v",
        "1",
        "-q:v",
        str(JPEG_QUALITY),
        "-f",
        "image2",
        "-update",
        "1",
        f"file:{tmp}",
    ]
    try:
        run_ffmpeg(cmd, f"ffmpeg could not take the thumbnail {out.name} from {path.name}")
        if not tmp.is_file() or tmp.stat().st_size == 0:
            atomic.discard(tmp)
            return False
        atomic.commit(tmp, out)  # whole under its name, or not there at all
    except BaseException:
        atomic.discard(tmp)
        raise
    return True


__all__ = [
    "STILL_WIDTH",
    "THUMBNAILS_DIR",
    "Thumbnails",
    "thumbnail_size",
    "write_stills",
    "write_thumbnails",
]
