"""Decode any media ffmpeg reads into mono float32 PCM at the model's rate, streamed.

One ffmpeg process per source writes f32le to a pipe; we read it in bounded chunks, so
memory does not grow with the length of the file. stderr is drained on a thread so
ffmpeg never blocks on a full pipe, and its last lines explain a failure.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from emotion.errors import AudioError

BYTES_PER_SAMPLE = 4  # f32le
DEFAULT_CHUNK_S = 10.0


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The ffmpeg binary: the system's when on PATH, else the one in the imageio-ffmpeg wheel."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as e:
        raise AudioError(
            "ffmpeg was not found: install it (apt install ffmpeg) or run "
            "`pip install imageio-ffmpeg`."
        ) from e


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What ffmpeg says about a file before decoding it."""

    duration_s: float | None
    has_audio: bool
    has_video: bool
    fps: float | None


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_FPS = re.compile(r"Stream #.*Video:.*?([\d.]+) fps")


def probe(path: Path) -> MediaInfo:
    """Read duration, streams and frame rate from ffmpeg's description of ``path``."""
    check_file(path)
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", _ffmpeg_input(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    info = proc.stderr  # ffmpeg -i with no output describes the input on stderr, exit code 1
    if "Invalid data found" in info or "Input #0" not in info:
        raise AudioError(
            f"{path.name} is not a media file ffmpeg can read ({_last_line(info)}); "
            "pick a video or audio file."
        )
    duration_s = None
    if m := _DURATION.search(info):
        h, mnt, s = m.groups()
        duration_s = int(h) * 3600 + int(mnt) * 60 + float(s)
    fps = float(m.group(1)) if (m := _FPS.search(info)) else None
    return MediaInfo(
        duration_s=duration_s,
        has_audio=re.search(r"Stream #.*Audio:", info) is not None,
        has_video=re.search(r"Stream #.*Video:", info) is not None and fps is not None,
        fps=fps,
    )


def stream_audio(
    path: Path, sampling_rate: int, chunk_s: float = DEFAULT_CHUNK_S
) -> Iterator[np.ndarray]:
    """Yield mono float32 chunks of ``chunk_s`` seconds (the last one shorter) from ``path``."""
    check_file(path)
    cmd = (
        ffmpeg.input(_ffmpeg_input(path))
        .output(
            "pipe:1",
            format="f32le",
            acodec="pcm_f32le",
            ac=1,
            ar=sampling_rate,
            map="0:a:0",
            # Downmix to the mean of the channels, as librosa and LAION's training do
            # (ffmpeg's default gives each channel 1/sqrt(2): +3 dB on correlated stereo).
            rematrix_maxval=1.0,
        )
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-vn", "-sn", "-dn")
        .compile(cmd=ffmpeg_exe())
    )
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    stderr_tail: deque[bytes] = deque(maxlen=20)
    drain = threading.Thread(target=stderr_tail.extend, args=(proc.stderr,), daemon=True)
    drain.start()

    chunk_bytes = max(1, round(chunk_s * sampling_rate)) * BYTES_PER_SAMPLE
    n_samples = 0
    try:
        while True:
            data = proc.stdout.read(chunk_bytes)
            if not data:
                break
            usable = len(data) - len(data) % BYTES_PER_SAMPLE  # a short read at EOF only
            chunk = np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)
            n_samples += chunk.size
            yield chunk
    finally:
        if proc.poll() is None:  # the consumer stopped early
            proc.kill()
        proc.wait()
        drain.join(timeout=5)
    if proc.returncode not in (0, None) and proc.returncode > 0:
        raise AudioError(_explain(path, b"".join(stderr_tail).decode("utf-8", "replace")))
    if n_samples == 0:
        raise AudioError(
            f"{path.name} contains no audio samples (it is empty or 0 s long); "
            "pick a file with sound."
        )


def load_audio(path: Path, sampling_rate: int) -> np.ndarray:
    """The whole audio track of ``path`` as mono float32 at ``sampling_rate`` (for short clips)."""
    return np.concatenate(list(stream_audio(path, sampling_rate)))


def check_file(path: Path) -> None:
    """Fail early, before a model loads, on a path that is not a file."""
    if not path.exists():
        raise AudioError(f"File not found: {path}. Check the path and try again.")
    if path.is_dir():
        raise AudioError(f"{path} is a folder; give the path of an audio or video file.")


def _ffmpeg_input(path: Path) -> str:
    # The file: protocol keeps names such as "a:b.wav" or "-x.mp4" from being read as options.
    return f"file:{path}"


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no details from ffmpeg"


def _explain(path: Path, stderr: str) -> str:
    if "matches no streams" in stderr or "does not contain any stream" in stderr:
        return f"{path.name} has no audio track; pick a file with sound."
    if "Invalid data found" in stderr or "could not find codec parameters" in stderr:
        return (
            f"{path.name} is not a media file ffmpeg can read ({_last_line(stderr)}); "
            "pick a video or audio file."
        )
    return f"ffmpeg could not decode {path.name}: {_last_line(stderr)}"
