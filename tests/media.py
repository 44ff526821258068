"""Write synthetic test media with ffmpeg (the same binary the product uses)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from emotion.media.audio import ffmpeg_exe


def write_media(
    path: Path,
    samples: np.ndarray,
    sampling_rate: int,
    *,
    channels: int = 1,
    audio_args: tuple[str, ...] = (),
    video: bool = False,
) -> Path:
    """Encode float32 ``samples`` (``[n]`` or ``[n, channels]``) to ``path``; codec from suffix.

    ``video=True`` adds a small black H.264 track (25 fps) so the file is a real video.
    """
    data = np.ascontiguousarray(samples, dtype="<f4")
    cmd = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y"]
    if video:
        duration_s = data.shape[0] / sampling_rate
        cmd += ["-f", "lavfi", "-i", f"color=c=black:s=64x64:r=25:d={duration_s}"]
    cmd += ["-f", "f32le", "-ar", str(sampling_rate), "-ac", str(channels), "-i", "pipe:0"]
    if video:
        cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest"]
    cmd += [*audio_args, str(path)]
    subprocess.run(cmd, input=data.tobytes(), check=True)
    return path


def tone(
    freq_hz: float, duration_s: float, sampling_rate: int, amplitude: float = 0.5
) -> np.ndarray:
    t = np.arange(round(duration_s * sampling_rate)) / sampling_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def pattern_video(
    path: Path,
    size: str,
    duration_s: float,
    fps: float = 30,
    amplitude: float = 0.5,
    extra: tuple[str, ...] = (),
) -> Path:
    """A moving video test pattern (ffmpeg's ``testsrc2``) with a 440 Hz tone of peak
    ``amplitude``, ``duration_s`` long, H.264 + AAC; ``extra`` output options before the path."""
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s={size}:r={fps:g}:d={duration_s}",
        "-f",
        "lavfi",
        "-i",
        f"sine=f=440:d={duration_s}:sample_rate=48000",
        "-af",
        f"volume={amplitude / 0.125:.3f}",  # sine's own amplitude is 1/8
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        *extra,
        "-shortest",
        str(path),
    ]
    subprocess.run(cmd, check=True)
    return path
