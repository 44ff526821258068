"""A light audio preview of one track of a VOD, for players that read a file whole.

Streamlit's player reads a file into memory (and hashes it) on every rerun, and a browser
plays a file's first audio track only: a big VOD, or another track, plays through a small
mono AAC copy made once with ffmpeg and kept in ``<home>/previews/`` (under the disk budget).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from emotion import atomic
from emotion.errors import SourceError
from emotion.media import disk
from emotion.media.audio import ffmpeg_exe
from emotion.media.source import Source
from emotion.progress import Progress, ProgressFn

PREVIEWS_DIR = "previews"  # under the library's home
PREVIEW_BITRATE = "48k"


def preview_path(source: Source, home: Path, audio_track: int = 1) -> Path:
    """Where the preview of ``source``'s track lives (keyed by the file's path, size, mtime)."""
    st_ = source.path.stat()
    track = f"|{audio_track}" if audio_track != 1 else ""  # track 1 keeps its older key
    key = hashlib.sha256(f"{source.path.resolve()}|{st_.st_size}|{st_.st_mtime_ns}{track}".encode())
    return home / PREVIEWS_DIR / f"{key.hexdigest()[:16]}.m4a"


def preview(
    source: Source, home: Path, audio_track: int = 1, progress: ProgressFn | None = None
) -> Path:
    """The preview, made now if it is not there yet; ``SourceError`` with ffmpeg's reason."""
    path = preview_path(source, home, audio_track)
    if path.is_file():
        disk.mark_used(path, home)  # the disk budget evicts the least recently used
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_beside(path, ".m4a")  # ffmpeg picks the format by the extension
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(source.path),
        "-map",
        f"0:a:{audio_track - 1}",
        "-vn",
        "-ac",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        PREVIEW_BITRATE,
        "-progress",
        "pipe:1",
        "-nostats",
        str(tmp),
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            value = line.removeprefix("out_time_us=").strip()
            if value != line.strip() and value.isdigit() and source.duration_s and progress:
                done_s = int(value) / 1e6
                progress(
                    Progress("preview", min(1.0, done_s / source.duration_s), f"{done_s:.0f} s")
                )
        _, err = proc.communicate()
    if proc.returncode != 0:
        atomic.discard(tmp)
        reason = (err or "").strip().splitlines()[-1:] or ["ffmpeg failed"]
        raise SourceError(f"No audio preview could be made ({reason[0]}).")
    atomic.commit(tmp, path)
    return path
