"""``clips/``: each highlight cut from the source media into a file of its own.

Stream copy can only cut at keyframes (seconds off on a stream VOD), so clips are
re-encoded, which is frame-accurate: H.264 (libx264 ``veryfast``, CRF 20, yuv420p) with
AAC 192k for video, in the source's container when it is mp4/mkv/mov and mp4 otherwise
(webm or flv cannot hold H.264 + AAC everywhere); AAC 192k in ``.m4a`` for audio-only
sources. The first video stream and the analysed audio track are kept.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import ffmpeg

from emotion.analysis import Analysis
from emotion.errors import ExportError
from emotion.export.timefmt import by_start, media_duration_s, slug_time
from emotion.media.audio import ffmpeg_exe
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight

VIDEO_CONTAINERS = (".mp4", ".mkv", ".mov")
AUDIO_BITRATE = "192k"
VIDEO_CRF = 20
MIN_CLIP_S = 0.1
LABEL_SLUG_CHARS = 40


def slugify(text: str, max_chars: int = 60, fallback: str = "untitled") -> str:
    """Text as a file-name part: ``Win Celebration!`` → ``win-celebration``."""
    words = re.sub(r"[\W_]+", "-", text.lower()).strip("-")
    return words[:max_chars].strip("-") or fallback


def clip_suffix(source: Source) -> str:
    if not source.has_video:
        return ".m4a"
    suffix = source.path.suffix.lower()
    return suffix if suffix in VIDEO_CONTAINERS else ".mp4"


def clip_name(index: int, total: int, highlight: Highlight, suffix: str) -> str:
    """``01-win-celebration-0-01-05.mp4``: number in time order, label, start time."""
    number = str(index).zfill(max(2, len(str(total))))
    label = slugify(highlight.label, LABEL_SLUG_CHARS, fallback="clip")
    return f"{number}-{label}-{slug_time(highlight.start_s)}{suffix}"


def clip_range(highlight: Highlight, duration_s: float, padding_s: float) -> tuple[float, float]:
    """The padded stretch to cut, kept inside the media."""
    start_s = max(0.0, highlight.start_s - padding_s)
    end_s = min(duration_s, highlight.end_s + padding_s) if duration_s > 0 else highlight.end_s
    return start_s, max(end_s, start_s + MIN_CLIP_S)


def cut(source: Source, out: Path, start_s: float, end_s: float, audio_track: int = 1) -> None:
    """Re-encode ``start_s``..``end_s`` of the source into ``out``; ffmpeg's error if it fails."""
    inp = ffmpeg.input(f"file:{source.path}", ss=f"{start_s:.3f}")
    options: dict[str, str | int] = {
        "t": f"{end_s - start_s:.3f}",
        "acodec": "aac",
        "audio_bitrate": AUDIO_BITRATE,
    }
    streams = [inp[f"a:{audio_track - 1}"]]
    if source.has_video:
        streams.insert(0, inp["v:0"])
        options |= {"vcodec": "libx264", "preset": "veryfast", "crf": VIDEO_CRF}
        options["pix_fmt"] = "yuv420p"  # 8-bit 4:2:0 plays everywhere
    if out.suffix in (".mp4", ".mov", ".m4a"):
        options["movflags"] = "+faststart"
    cmd = (
        ffmpeg.output(*streams, f"file:{out}", **options)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-y")
        .compile(cmd=ffmpeg_exe())
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ExportError(
            f"ffmpeg could not cut the clip {out.name} from {source.path.name}: {detail}. "
            "Check that the media file is intact, or export without clips."
        )


def cut_all(analysis: Analysis, folder: Path, padding_s: float) -> Iterator[Path]:
    """Cut every highlight into ``folder``, yielding each clip as it is written."""
    source = analysis.source
    if not source.path.is_file():
        raise ExportError(
            f"The media file {source.path} is gone, so no clips can be cut; "
            "analyse the VOD again or export without clips."
        )
    duration_s = media_duration_s(analysis)
    highlights = by_start(analysis.highlights)
    suffix = clip_suffix(source)
    for i, h in enumerate(highlights, start=1):
        out = folder / clip_name(i, len(highlights), h, suffix)
        cut(source, out, *clip_range(h, duration_s, padding_s), analysis.audio_track)
        yield out
