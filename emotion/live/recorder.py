"""The stream's audio kept as Opus beside the embeddings, so a live analysis plays and clips.

A ``Recorder`` pipes the PCM the monitor receives (and silence for each gap, so time t
in the recording is stream time t) into one ffmpeg encoding Ogg Opus. Each run of a
monitor writes its own part, named by the stream time it starts at; a run that resumes
after a kill starts a new part, and ``assemble`` joins the parts into the recording,
with silence where nothing was kept.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import numpy as np

from emotion.atomic import replacing
from emotion.errors import AudioError
from emotion.media.audio import ffmpeg_exe, stream_audio

BITRATE = "48k"  # speech and game audio stay clear; about 21 MB an hour
SILENCE_CHUNK_S = 1.0
PART_PREFIX = "part-"


def part_path(folder: Path, start_s: float) -> Path:
    return folder / f"{PART_PREFIX}{round(start_s * 1000):012d}.ogg"


class Recorder:
    """Encode PCM written to it into ``path`` (Ogg Opus); ``close()`` finishes the file."""

    def __init__(self, path: Path, sampling_rate: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sampling_rate = sampling_rate
        self.n_samples = 0
        cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            str(sampling_rate),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-c:a",
            "libopus",
            "-b:a",
            BITRATE,
            "-f",
            "ogg",
            str(path),
        ]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def write(self, samples: np.ndarray) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(samples, dtype="<f4").tobytes())
        except (BrokenPipeError, OSError) as e:
            raise AudioError(f"The recording {self.path.name} could not be written ({e}).") from e
        self.n_samples += samples.size

    def silence(self, seconds: float) -> None:
        left = round(seconds * self.sampling_rate)
        step = round(SILENCE_CHUNK_S * self.sampling_rate)
        while left > 0:
            n = min(left, step)
            self.write(np.zeros(n, dtype=np.float32))
            left -= n

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        self._proc.wait()


def assemble(folder: Path, final: Path, sampling_rate: int) -> Path | None:
    """Join the parts in ``folder`` into ``final``; None when there is nothing recorded."""
    parts = sorted(folder.glob(f"{PART_PREFIX}*.ogg"))
    if not parts:
        return final if final.exists() else None
    if len(parts) == 1 and parts[0].name == part_path(folder, 0).name and not final.exists():
        os.replace(parts[0], final)
        return final
    if final.exists():  # an earlier assembly: it comes first
        os.replace(final, part_path(folder, 0).with_suffix(".old.ogg"))
        parts = sorted(folder.glob(f"{PART_PREFIX}*.ogg"))
    with replacing(final, ".ogg") as tmp:
        out = Recorder(tmp, sampling_rate)
        for part in parts:
            start_n = round(int(part.name[len(PART_PREFIX) :].split(".")[0]) / 1000 * sampling_rate)
            if start_n > out.n_samples:
                out.silence((start_n - out.n_samples) / sampling_rate)
            skip = out.n_samples - start_n  # audio the later part repeats
            with contextlib.suppress(AudioError):  # an empty or cut part keeps what it has
                for chunk in stream_audio(part, sampling_rate):
                    if skip >= chunk.size:
                        skip -= chunk.size
                        continue
                    out.write(chunk[max(skip, 0) :])
                    skip = 0
        out.close()
    for part in parts:
        part.unlink(missing_ok=True)
    return final
