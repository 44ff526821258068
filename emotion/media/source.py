"""What a source is: a media file on disk and where it came from, and what a visitor's may be.

Both ways in read these: ``sources.open_source`` (files and links) and ``downloads``
(links fetched with yt-dlp), so neither imports the other for them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from emotion.errors import SourceError
from emotion.media.audio import AudioTrack
from emotion.media.media_roots import is_under
from emotion.media.netguard import Address, Resolver
from emotion.paths import downloads_dir, uploads_dir
from emotion.progress import Progress

DEFAULT_PORTS = {"http": 80, "https": 443}


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
    audio_tracks: tuple[AudioTrack, ...] = ()  # known when opened (not kept in the library)
    default_track: int = 1  # the container's default audio track
    published: float | None = None  # when it aired (yt-dlp), else the file's mtime; epoch s

    def check_track(self, track: int | None) -> int:
        """``track`` (a number from 1), or the default track when None; unknown ones refused."""
        if track is None:
            return self.default_track
        if track < 1:
            raise SourceError(f"Audio tracks are numbered from 1, not {track}; pick 1 or above.")
        numbers = [t.number for t in self.audio_tracks]
        if numbers and track not in numbers:
            listing = "; ".join(t.describe() for t in self.audio_tracks)
            raise SourceError(f"{self.title} has no audio track {track}; its tracks are {listing}.")
        return track


@dataclass(frozen=True)
class SourcePolicy:
    """What a source given by someone else may be (for a server; the CLI passes none).

    Text typed by a visitor opens as a link to a public address, or as a path inside
    ``media_folders``; a ``Path`` handed over by Hypeline itself (an upload it saved, a
    past analysis) may also lie in its own uploads and downloads.
    """

    media_folders: tuple[Path, ...] = ()
    resolve: Resolver = field(default=socket.getaddrinfo, repr=False)  # tests pass a fake
    reachable: frozenset[Address] = frozenset()  # (ip, port) pairs allowed though not public

    def own_folders(self) -> tuple[Path, ...]:
        return (*self.media_folders, uploads_dir(), downloads_dir())

    def allows(self, path: Path) -> bool:
        """Whether a file Hypeline holds a record of may be opened (played, cut) under this policy."""
        return is_under(path, self.own_folders())


@dataclass(frozen=True)
class SourceProgress(Progress):
    """A ``Progress`` of stage "download", with the byte counts behind its ``fraction``."""

    downloaded_bytes: int | None = None
    total_bytes: int | None = None
    speed_bps: float | None = None


def is_link(spec: str) -> bool:
    """Whether a source is a web link (http or https), else a local file's path."""
    # The scheme as urlsplit reads it, without its ValueError on a broken host ("http://[").
    scheme, colon, _ = spec.lstrip().partition(":")
    return bool(colon) and scheme.lower() in DEFAULT_PORTS


def canonical_url(url: str) -> str:
    """``url`` with the fragment dropped, scheme and host lowercased, default port removed."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError as e:
        raise SourceError(
            f"{url} is not a valid link ({e}); copy it again from the browser."
        ) from e
    scheme = parts.scheme.lower()
    if not host:
        raise SourceError(f"{url} is not a valid link (no host); copy it again from the browser.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
