"""The ffmpeg plumbing the renderers share (shorts, the reel, thumbnails): what a media file
holds (its picture as the filters see it, its length), which H.264 encoder works here
(probed once), the posts' encoding settings, and running ffmpeg with its error as an
``ExportError``.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotion.errors import ExportError
from emotion.media.audio import ffmpeg_exe

MAX_FPS = 60.0
AUDIO_BITRATE = "192k"
SAMPLE_RATE = 48_000
VIDEO_CRF = 20
ENCODER_PROBE_TIMEOUT_S = 15.0
HARDWARE_ENCODERS = ("h264_nvenc", "h264_videotoolbox", "h264_qsv")
ENCODER_OPTIONS: dict[str, list[str]] = {
    "libx264": ["-preset", "veryfast", "-crf", str(VIDEO_CRF)],
    "h264_nvenc": ["-preset", "p4", "-rc", "vbr", "-cq", "21", "-b:v", "0"],
    "h264_videotoolbox": ["-b:v", "10M"],
    "h264_qsv": ["-preset", "veryfast", "-global_quality", "22"],
}

Note = Callable[[str], None]


@dataclass(frozen=True)
class Picture:
    """The decoded video as ffmpeg hands it to the filters (rotation applied)."""

    width: int
    height: int
    fps: float | None
    sar: float = 1.0  # pixel aspect ratio (anamorphic video: not 1)


# -------------------------------------------------------------------- what is on hand


_VIDEO = re.compile(r"^\s*Stream #\d+:\d+.*?: Video: (?P<desc>.*)$", re.MULTILINE)
_SIZE = re.compile(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_ROTATION = re.compile(
    r"(?:rotation of (-?[\d.]+) degrees|^\s*rotate\s*: (-?[\d.]+))", re.MULTILINE
)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _describe(path: Path) -> str:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", f"file:{path}"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return proc.stderr  # ffmpeg -i alone describes the input on stderr (and exits 1)


def probe_picture(path: Path) -> Picture | None:
    """The first video stream's size as the filters see it (turned upright), None without one."""
    info = _describe(path)
    video = _VIDEO.search(info)
    if video is None or (size := _SIZE.search(video.group("desc") + " ")) is None:
        return None
    width, height = int(size.group(1)), int(size.group(2))
    rotation = _ROTATION.search(info[video.start() :])
    if rotation is not None:
        degrees = float(rotation.group(1) or rotation.group(2))
        if round(abs(degrees)) % 180 == 90:  # ffmpeg turns the frames upright when decoding
            width, height = height, width
    sar = _SAR.search(video.group("desc"))
    fps = _FPS.search(video.group("desc"))
    return Picture(
        width=width,
        height=height,
        fps=float(fps.group(1)) if fps else None,
        sar=int(sar.group(1)) / int(sar.group(2)) if sar and int(sar.group(2)) else 1.0,
    )


def media_length_s(path: Path) -> float | None:
    """The container's duration, when it states one."""
    if m := _DURATION.search(_describe(path)):
        h, mnt, s = m.groups()
        return int(h) * 3600 + int(mnt) * 60 + float(s)
    return None


# ---------------------------------------------------------------------------- encoding


def pick_encoder(on_note: Note | None = None, what: str = "shorts are") -> str:
    """The first hardware H.264 encoder that encodes here (probed once per ffmpeg), else
    libx264; a note says ``what`` encoded on the CPU when a hardware one failed."""
    encoder, failed = _pick_encoder(ffmpeg_exe())
    if failed and encoder == "libx264" and on_note is not None:
        on_note(f"{', '.join(failed)} did not start here, so {what} encoded on the CPU.")
    return encoder


@functools.lru_cache(maxsize=4)
def _pick_encoder(exe: str) -> tuple[str, tuple[str, ...]]:
    """(encoder, the hardware ones ffmpeg has that failed a 0.1 s test encode)."""
    listing = subprocess.run(
        [exe, "-hide_banner", "-encoders"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    ).stdout
    failed: list[str] = []
    for name in HARDWARE_ENCODERS:
        if not re.search(rf"^\s*V\S*\s+{name}\s", listing, re.MULTILINE):
            continue
        cmd = [
            exe,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=256x256:r=30:d=0.1",
            "-c:v",
            name,
            *ENCODER_OPTIONS[name],
            "-pix_fmt",
            "yuv420p",
            "-f",
            "null",
            "-",
        ]
        try:
            ok = (
                subprocess.run(
                    cmd, capture_output=True, timeout=ENCODER_PROBE_TIMEOUT_S, check=False
                ).returncode
                == 0
            )
        except subprocess.TimeoutExpired:
            ok = False
        if ok:
            return name, tuple(failed)
        failed.append(name)
    return "libx264", tuple(failed)


def run_ffmpeg(cmd: list[str], what: str) -> str:
    """Run ffmpeg; its stderr, or an ``ExportError`` with its last line."""
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ExportError(f"{what}: {detail}. Check that the media file is intact.")
    return proc.stderr


def post_output(encoder: str, length_s: float, out: Path) -> list[str]:
    """ffmpeg's output options of a post (a short, the reel): the graph's [v] and [a], H.264
    by ``encoder``, AAC stereo at 48 kHz, ``length_s`` long, an MP4 that plays while it
    loads."""
    video = ["-map", "[v]", "-c:v", encoder, *ENCODER_OPTIONS[encoder], "-pix_fmt", "yuv420p"]
    audio = ["-map", "[a]", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE)]
    container = ["-ac", "2", "-t", f"{length_s:.3f}", "-movflags", "+faststart", "-f", "mp4"]
    return [*video, *audio, *container, f"file:{out}"]
