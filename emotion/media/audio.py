"""Decode any media ffmpeg reads into mono float32 PCM at the model's rate, streamed.

One ffmpeg process per source writes f32le to a pipe; we read it in bounded chunks, so
memory does not grow with the length of the file. stderr is drained on a thread so
ffmpeg never blocks on a full pipe, and its last lines explain a failure.
"""

from __future__ import annotations

import functools
import os
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
FFMPEG_ENV = "HYPELINE_FFMPEG"
# One resampler does all of it, so its options hold (an -af chain ahead of -ac/-ar takes
# over the conversion, and output options such as -rematrix_maxval no longer reach it):
# * async=1:first_pts=0 pads audio that starts after the video, or has holes in its
#   timestamps (a dropped stream segment), with silence, so that time t in the PCM is
#   time t in the video. Measured on a 3 s late start and a 3 s hole: without it, every
#   later event was reported 3 s early. Files without either decode bit for bit as before.
# * rematrix_maxval=1 downmixes to the mean of the channels, as librosa and LAION's
#   training do (ffmpeg's default gives each channel 1/sqrt(2): +3 dB on correlated stereo).
TIMELINE_FILTER = "aresample=async=1:first_pts=0:rematrix_maxval=1"


def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$HYPELINE_FFMPEG``, else the system's, else the imageio-ffmpeg one."""
    return _find_ffmpeg(os.environ.get(FFMPEG_ENV, "").strip())


@functools.lru_cache(maxsize=4)
def _find_ffmpeg(configured: str) -> str:
    if configured:
        found = shutil.which(str(Path(configured).expanduser()))
        if found is None:
            raise AudioError(
                f"{FFMPEG_ENV} is set to {configured}, which is not an ffmpeg program; "
                "point it at the ffmpeg binary, or unset it to use the one on PATH."
            )
        return found
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg  # the fallback wheel: a machine with ffmpeg may lack it

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as e:
        raise AudioError(
            "ffmpeg was not found: install it (apt install ffmpeg, brew install ffmpeg) or "
            "run `pip install imageio-ffmpeg`."
        ) from e


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """One audio stream of a file. Tracks are numbered from 1, as OBS and editors do."""

    number: int
    codec: str
    channels: str  # ffmpeg's layout name: mono, stereo, 5.1(side), "6 channels", …
    sample_rate: int | None = None
    language: str | None = None
    title: str | None = None
    default: bool = False

    def describe(self) -> str:
        """``2: aac, stereo, 48000 Hz, eng, "Mic"`` (one line of ``--list-tracks``)."""
        parts = [self.codec, self.channels]
        if self.sample_rate:
            parts.append(f"{self.sample_rate} Hz")
        if self.language:
            parts.append(self.language)
        if self.title:
            parts.append(f'"{self.title}"')
        if self.default:
            parts.append("default")
        return f"{self.number}: " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What ffmpeg says about a file before decoding it."""

    duration_s: float | None
    has_video: bool
    fps: float | None
    audio_tracks: tuple[AudioTrack, ...] = ()

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_tracks)

    @property
    def default_track(self) -> int:
        """The container's default audio track (the first flagged default, else track 1)."""
        flagged = [t.number for t in self.audio_tracks if t.default]
        return flagged[0] if flagged else 1


@dataclass
class DecodeStats:
    """Filled in while ``stream_audio`` runs: how much audio came out, and how much was bad."""

    n_samples: int = 0
    n_nonfinite: int = 0  # NaN/Inf samples, decoded as silence
    sampling_rate: int = 0

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate if self.sampling_rate else 0.0

    @property
    def nonfinite_s(self) -> float:
        return self.n_nonfinite / self.sampling_rate if self.sampling_rate else 0.0


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_FPS = re.compile(r"Stream #.*Video:.*?([\d.]+) fps")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+(?:\[[^\]]*\])?(?:\((?P<lang>[^)]*)\))?: (?P<kind>\w+):")
_AUDIO = re.compile(
    r"Audio: (?P<codec>[^\s,]+)[^,]*(?:, (?P<rate>\d+) Hz)?(?:, (?P<layout>[^,]+))?"
)
# A stream's name: ``title`` (Matroska, OBS's track names), else an MP4 ``handler_name``
# that is not one of the muxers' generic ones ("SoundHandler", "Core Media Audio", …).
_TITLE = re.compile(r"^\s+(?P<key>title|handler_name)\s*: (?P<title>.*)$", re.IGNORECASE)
_GENERIC_HANDLER = re.compile(r"handler|media|sound|audio", re.IGNORECASE)


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
        has_video=re.search(r"Stream #.*Video:", info) is not None and fps is not None,
        fps=fps,
        audio_tracks=_audio_tracks(info),
    )


def _audio_tracks(info: str) -> tuple[AudioTrack, ...]:
    """The audio streams of ``ffmpeg -i``'s description, in the order ``-map 0:a:N`` counts."""
    tracks: list[dict] = []
    current: dict | None = None
    for line in info.splitlines():
        if m := _STREAM.match(line):
            current = None
            if m["kind"] != "Audio":
                continue
            a = _AUDIO.search(line)  # an unusual line still counts as a track
            lang = m["lang"] if m["lang"] and m["lang"] != "und" else None
            current = {
                "number": len(tracks) + 1,
                "codec": a["codec"] if a else "?",
                "channels": (a["layout"] if a and a["layout"] else "?").strip(),
                "sample_rate": int(a["rate"]) if a and a["rate"] else None,
                "language": lang,
                "default": "(default)" in line,
            }
            tracks.append(current)
        elif current is not None and (t := _TITLE.match(line)):
            title = t["title"].strip()
            if t["key"].lower() == "title" and title:
                current["title"] = title
            elif title and not _GENERIC_HANDLER.search(title):
                current.setdefault("title", title)
        elif not line.startswith("    "):  # the stream's block ended
            current = None
    return tuple(AudioTrack(**t) for t in tracks)


def stream_audio(
    path: Path,
    sampling_rate: int,
    chunk_s: float = DEFAULT_CHUNK_S,
    track: int = 1,
    stats: DecodeStats | None = None,
    start_s: float = 0.0,
    duration_s: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield mono float32 chunks of ``chunk_s`` seconds (the last one shorter) from ``path``.

    ``track`` is the audio track's number (from 1). Samples that decode to NaN or Inf
    (a broken float WAV) become silence and are counted in ``stats``. ``start_s`` and
    ``duration_s`` cut a piece (ffmpeg seeks the input, so a late start costs nothing).
    """
    check_file(path)
    stats = stats if stats is not None else DecodeStats()
    stats.sampling_rate = sampling_rate
    cut: dict[str, float] = {"ss": start_s} if start_s > 0 else {}
    if duration_s is not None:
        cut["t"] = duration_s
    cmd = (
        ffmpeg.input(_ffmpeg_input(path), **cut)
        .output(
            "pipe:1",
            format="f32le",
            acodec="pcm_f32le",
            ac=1,
            ar=sampling_rate,
            map=f"0:a:{track - 1}",
            af=TIMELINE_FILTER,
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
    try:
        while True:
            data = proc.stdout.read(chunk_bytes)
            if not data:
                break
            usable = len(data) - len(data) % BYTES_PER_SAMPLE  # a short read at EOF only
            chunk = np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)
            bad = ~np.isfinite(chunk)
            if bad.any():
                stats.n_nonfinite += int(bad.sum())
                chunk[bad] = 0.0
            stats.n_samples += chunk.size
            yield chunk
    finally:
        if proc.poll() is None:  # the consumer stopped early
            proc.kill()
        proc.wait()
        drain.join(timeout=5)
    if proc.returncode not in (0, None) and proc.returncode > 0:
        raise AudioError(_explain(path, b"".join(stderr_tail).decode("utf-8", "replace"), track))
    if stats.n_samples == 0:
        raise AudioError(
            f"{path.name} contains no audio samples (it is empty or 0 s long); "
            "pick a file with sound."
        )


def load_audio(path: Path, sampling_rate: int) -> np.ndarray:
    """The whole audio track of ``path`` as mono float32 at ``sampling_rate`` (for short clips)."""
    return np.concatenate(list(stream_audio(path, sampling_rate)))


def load_segment(
    path: Path, sampling_rate: int, start_s: float, duration_s: float, track: int = 1
) -> np.ndarray:
    """``duration_s`` of audio track ``track`` of ``path`` from ``start_s``, mono float32."""
    if start_s < 0 or not duration_s > 0:
        raise AudioError(
            f"A piece from {start_s} s lasting {duration_s} s is not in the file; start at "
            "0 s or later and give it a length."
        )
    pieces = list(
        stream_audio(path, sampling_rate, track=track, start_s=start_s, duration_s=duration_s)
    )
    return np.concatenate(pieces)


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


def _explain(path: Path, stderr: str, track: int = 1) -> str:
    if "matches no streams" in stderr or "does not contain any stream" in stderr:
        if track > 1:
            return (
                f"{path.name} has no audio track {track}; pick one of its tracks (list them first)."
            )
        return f"{path.name} has no audio track; pick a file with sound."
    if "Invalid data found" in stderr or "could not find codec parameters" in stderr:
        return (
            f"{path.name} is not a media file ffmpeg can read ({_last_line(stderr)}); "
            "pick a video or audio file."
        )
    return f"ffmpeg could not decode {path.name}: {_last_line(stderr)}"
