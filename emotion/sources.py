"""Where a VOD comes from: a local file, or an http(s) URL fetched with yt-dlp."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """A media file on disk, ready to decode, and what we know of where it came from."""

    path: Path  # the local media file (the given file, or the download)
    title: str
    duration_s: float | None
    url: str | None = None  # the webpage URL for downloads, None for local files
    uploader: str | None = None
    has_video: bool = False
    fps: float | None = None  # frame rate of the video stream, when there is one
