"""Where a VOD comes from: a local file, or an http(s) URL fetched with yt-dlp.

``open_source`` turns what the user gave (a path, or the link of a video page) into a
``Source``: a media file on disk plus what we know about it. Local files are checked
and hashed in ``emotion/local_files.py``; links are fetched with yt-dlp in
``emotion/downloads.py``, under ``downloads_dir()``, and reused: a link seen before opens
its file again without touching the network.

A ``SourcePolicy`` limits what a source from someone else may be (the dashboard's shared
mode, the HTTP API): typed paths only inside media folders, links only to public
addresses (``emotion.media.netguard``). Without one (the CLI), anything this user can read or
reach opens.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from emotion.errors import SourceError
from emotion.media import disk
from emotion.media.audio import AudioTrack
from emotion.media.local_files import check_file, file_identity, looks_like_host
from emotion.media.media_roots import is_under, resolve_under
from emotion.media.netguard import Address, Resolver
from emotion.paths import downloads_dir, uploads_dir
from emotion.progress import Progress, ProgressFn

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


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


def open_source(
    spec: str | Path, progress: ProgressFn | None = None, policy: SourcePolicy | None = None
) -> Source:
    """Open a local media file, or download the video behind an http(s) link (reused if seen).

    ``progress`` is called as a download advances. An exception it raises stops the download
    and reaches the caller unchanged (that is how to cancel); the partial file is kept and
    the next ``open_source`` of the same link resumes it. With a ``policy``, what it refuses
    raises a ``SourceError`` before anything is read or contacted.
    """
    source = _open(spec, progress, policy)
    disk.mark_used(source.path)
    return source


def _open(spec: str | Path, progress: ProgressFn | None, policy: SourcePolicy | None) -> Source:
    if isinstance(spec, Path):
        if policy is not None:
            spec = resolve_under(spec, policy.own_folders(), "the folders")
        return _open_file(spec)
    text = spec.strip().strip("\"'")
    m = _SCHEME.match(text)
    # len > 1: "C:\vod.mp4" is a Windows path, not a link with scheme "c". A visitor's
    # text with a scheme is a link even if a file of that name exists.
    if m and len(m.group(1)) > 1 and (policy is not None or not Path(text).exists()):
        scheme = m.group(1).lower()
        if scheme not in _DEFAULT_PORTS:
            raise SourceError(
                f"Only http(s) links are supported, not {scheme}: links; "
                "for a file on this computer, give its path."
            )
        from emotion.media.downloads import open_url  # yt-dlp: only when there is a link

        return open_url(text, progress, policy)
    if policy is not None:
        return _open_file(resolve_under(text, policy.media_folders))
    path = Path(spec)
    if not path.exists():
        path = Path(text).expanduser()
    return _open_file(path, looks_like_link=looks_like_host(text))


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
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def source_identity(source: Source) -> str:
    """A stable key for what a source holds, so analyses survive renames and re-downloads.

    Downloads: ``"url:" + canonical_url(source.url)``. Local files: ``"sha256:<hex>"``, the
    SHA-256 of the file. Files over ``FULL_HASH_MAX_BYTES`` (multi-hour VODs, where a full
    hash takes many seconds on a slow disk) get ``"sha256-sampled:<hex>"`` instead: SHA-256
    of the size, the first and last 16 MiB, and 64 evenly spaced 1 MiB samples between. Any
    re-encode, trim or remux changes the size or those bytes. Digests are cached in memory
    by (path, size, mtime) for the session.
    """
    if source.url:
        return "url:" + canonical_url(source.url)
    return file_identity(source.path)


def _open_file(path: Path, looks_like_link: bool = False) -> Source:
    info = check_file(path, looks_like_link)
    return Source(
        path=path,
        title=path.stem,
        duration_s=info.duration_s,
        has_video=info.has_video,
        fps=info.fps,
        audio_tracks=info.audio_tracks,
        default_track=info.default_track,
        published=path.stat().st_mtime,
    )
