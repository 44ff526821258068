"""Where a VOD comes from: a local file, or an http(s) URL fetched with yt-dlp.

``open_source`` turns what the user gave (a path, or the link of a video page) into a
``Source``: a media file on disk plus what we know about it. Downloads go under
``downloads_dir()`` and are reused: a link seen before opens its file again without
touching the network.

On disk, under ``downloads_dir()``::

    index/<sha256(canonical url)>.json   one small file per known link (race-free)
    <id>-<hash>/<title> [<id>].<ext>     a finished download
    .incomplete/<hash>/                  where yt-dlp writes; resumed after an interruption

A download counts as finished only once its file has been moved out of
``.incomplete`` and its index entry written, so an interrupted download is never taken
for a complete one.

A ``SourcePolicy`` limits what a source from someone else may be (the dashboard's shared
mode, the HTTP API): typed paths only inside media folders, links only to public
addresses (``emotion.netguard``). Without one (the CLI), anything this user can read or
reach opens.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from emotion import disk
from emotion.audio import AudioTrack, MediaInfo, ffmpeg_exe, probe
from emotion.errors import SourceError
from emotion.lease import Lease, try_acquire
from emotion.media_roots import is_under, resolve_under
from emotion.netguard import Address, BlockedAddressError, Resolver, check_public_url, public_only
from emotion.paths import downloads_dir, hypeline_home, uploads_dir
from emotion.progress import Progress, ProgressFn

log = logging.getLogger(__name__)

# yt-dlp's network patience. Tests lower these so a failure is quick.
NETWORK_OPTIONS: dict[str, Any] = {
    "socket_timeout": 30,
    "retries": 10,
    "fragment_retries": 10,
    "extractor_retries": 3,
}

# Files larger than this are identified by a sampled hash (see ``source_identity``).
FULL_HASH_MAX_BYTES = 256 * 1024 * 1024
HASH_CHUNK_BYTES = 1024 * 1024
SAMPLED_EDGE_BYTES = 16 * 1024 * 1024  # hashed in full at the start and at the end
SAMPLED_MIDDLE_COUNT = 64  # 1 MiB samples spread evenly between the edges

DOWNLOAD_WAIT_POLL_S = 0.5  # how often a caller waiting for another's download looks again
REASON_MAX_CHARS = 200  # of yt-dlp's own words quoted in our messages

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
        return _open_url(text, progress, policy)
    if policy is not None:
        return _open_file(resolve_under(text, policy.media_folders))
    path = Path(spec)
    if not path.exists():
        path = Path(text).expanduser()
    return _open_file(path, looks_like_link=_looks_like_host(text))


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
    return _file_identity(source.path)


# --- local files ---------------------------------------------------------------------


def _open_file(path: Path, looks_like_link: bool = False) -> Source:
    if not path.exists():
        hint = (
            " If it is a link, start it with https://."
            if looks_like_link
            else " Check the path and try again."
        )
        raise SourceError(f"File not found: {path}.{hint}")
    if path.is_dir():
        raise SourceError(f"{path} is a folder; give the path of a video or audio file.")
    if not path.is_file():
        raise SourceError(f"{path} is not a regular file; give the path of a video or audio file.")
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as e:
        raise SourceError(
            f"Cannot read {path} ({e.strerror or e}); check that the file is yours to read."
        ) from e
    info = _probe(path)
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


def _probe(path: Path) -> MediaInfo:
    info = probe(path)
    if not info.has_audio:
        raise SourceError(f"{path.name} has no audio track; pick a file with sound.")
    return info


def _looks_like_host(text: str) -> bool:
    # "www.twitch.tv/videos/1" pasted without a scheme: say so rather than "file not found".
    first = text.split("/", 1)[0]
    return "/" in text and "." in first and not first.startswith(".") and " " not in first


_digest_cache: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def _file_identity(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digest_cache:
            return _digest_cache[key]
    digest = _file_digest(path, st.st_size)
    with _digest_lock:
        _digest_cache[key] = digest
    return digest


def _file_digest(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        if size <= FULL_HASH_MAX_BYTES:
            while chunk := f.read(HASH_CHUNK_BYTES):
                h.update(chunk)
            return "sha256:" + h.hexdigest()
        h.update(size.to_bytes(8, "little"))
        for offset, length in _sample_ranges(size):
            f.seek(offset)
            remaining = length
            while remaining > 0 and (chunk := f.read(min(HASH_CHUNK_BYTES, remaining))):
                h.update(chunk)
                remaining -= len(chunk)
    return "sha256-sampled:" + h.hexdigest()


def _sample_ranges(size: int) -> Iterator[tuple[int, int]]:
    yield 0, SAMPLED_EDGE_BYTES
    middle_start, middle_end = SAMPLED_EDGE_BYTES, size - SAMPLED_EDGE_BYTES
    step = (middle_end - middle_start) / (SAMPLED_MIDDLE_COUNT + 1)
    for i in range(1, SAMPLED_MIDDLE_COUNT + 1):
        start = middle_start + int(i * step)
        yield start, min(HASH_CHUNK_BYTES, middle_end - start)
    yield size - SAMPLED_EDGE_BYTES, SAMPLED_EDGE_BYTES


# --- downloads -----------------------------------------------------------------------


def _open_url(url: str, progress: ProgressFn | None, policy: SourcePolicy | None = None) -> Source:
    canon = canonical_url(url)
    if policy is not None:
        # Before the library lookup too: a private link stays refused even when its video
        # was fetched earlier by someone allowed to.
        check_public_url(url, policy.resolve, policy.reachable)
    if (known := _lookup(canon)) is not None:
        return known  # no network at all for a link we have already fetched

    import yt_dlp  # imported here: it takes ~0.5 s and local files never need it

    downloads = downloads_dir()
    guard = public_only(policy.reachable) if policy is not None else contextlib.nullcontext()
    held = contextlib.ExitStack()  # the download's lease, once its key is known
    with held:  # released once the file is in place and remembered
        with guard, yt_dlp.YoutubeDL(_ydl_options(downloads, progress, policy is not None)) as ydl:
            try:
                raw = ydl.extract_info(url, download=False, process=False)
            except yt_dlp.utils.YoutubeDLError as e:
                raise _explain(e, url) from e
            if not raw:
                raise _no_media(url)
            if raw.get("_type") in ("playlist", "multi_video"):
                raise _playlist(url)
            _refuse_live(raw, url)

            # yt-dlp's webpage_url is its canonical form (youtu.be/x → youtube.com/watch?v=x):
            # a second spelling of a link we have downloaded is found here, before any download.
            page_url = raw.get("webpage_url") or url
            page_canon = canonical_url(page_url)
            if page_canon != canon and (known := _lookup(page_canon)) is not None:
                if (entry := _read_entry(page_canon)) is not None:
                    _remember(canon, entry)
                return known

            key = _hash(page_canon)[:16]
            partial_dir = downloads / ".incomplete" / key
            partial_dir.mkdir(parents=True, exist_ok=True)
            # One download per link at a time: a second caller waits for the first, then
            # opens its file, instead of writing into the same partial files.
            held.enter_context(_download_lease(partial_dir.with_suffix(".lock"), progress))
            if (known := _lookup(page_canon)) is not None:
                return known
            folder = str(partial_dir).replace("%", "%%")  # a literal % in HYPELINE_HOME
            ydl.params["outtmpl"]["default"] = f"{folder}/%(title).80B [%(id).40B].%(ext)s"
            try:
                info = ydl.process_ie_result(raw, download=True)
            except yt_dlp.utils.YoutubeDLError as e:
                raise _explain(e, url) from e

        if not info or info.get("_type") in ("playlist", "multi_video"):
            raise _playlist(url)
        done = [
            Path(d["filepath"]) for d in info.get("requested_downloads") or [] if d.get("filepath")
        ]
        if not done or not done[-1].is_file():
            raise _no_media(url)

        final_dir = downloads / f"{_safe_name(str(info.get('id') or 'video'))}-{key}"
        final_dir.mkdir(parents=True, exist_ok=True)
        final_path = final_dir / done[-1].name
        os.replace(done[-1], final_path)
        shutil.rmtree(partial_dir, ignore_errors=True)

        media = _probe(final_path)
        entry = {
            "url": page_canon,
            "webpage_url": page_url,
            "path": final_path.relative_to(downloads).as_posix(),
            "size_bytes": final_path.stat().st_size,
            "title": str(info.get("title") or final_path.stem),
            "uploader": info.get("uploader") or info.get("channel"),
            "duration_s": _float(info.get("duration")) or media.duration_s,
            "id": info.get("id"),
            "extractor": info.get("extractor_key") or info.get("extractor"),
            "published": _published(info),
        }
        for link in {page_canon, canon}:
            _remember(link, entry)
        return _source_from_entry(final_path, entry, media)


def _download_lease(path: Path, progress: ProgressFn | None) -> Lease:
    """The right to download into one partial folder, waiting while another caller has it."""
    waiting = False
    while (lease := try_acquire(path)) is None:
        if progress is not None and not waiting:  # raising here cancels the wait
            progress(Progress("download", None, "another process is downloading this link"))
        waiting = True
        time.sleep(DOWNLOAD_WAIT_POLL_S)
    return lease


def _ydl_options(
    downloads: Path, progress: ProgressFn | None, guarded: bool = False
) -> dict[str, Any]:
    guard: dict[str, Any] = {
        # public_only() watches this thread only, and ffmpeg would fetch outside it:
        # HLS with yt-dlp's own downloader, fragments one at a time on this thread.
        "hls_prefer_native": True,
        "concurrent_fragment_downloads": 1,
    }
    return {
        "format": "bestaudio/best",
        "outtmpl": {"default": "%(id)s.%(ext)s"},  # set per download, once the id is known
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "no_color": True,
        "logger": _YtdlpLog(),
        "progress_hooks": [_ProgressHook(progress)] if progress else [],
        "match_filter": _match_filter,
        # HLS fix-ups and merges need ffmpeg; this finds the imageio-ffmpeg one too.
        "ffmpeg_location": ffmpeg_exe(),
        "cachedir": str(hypeline_home() / "yt-dlp"),
        "windowsfilenames": True,
        "updatetime": False,  # the file's mtime is when we fetched it, not the server's date
        **NETWORK_OPTIONS,
        **(guard if guarded else {}),
    }


class _YtdlpLog:
    """Takes yt-dlp's messages off the console; they go to our logger at debug level."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)  # raised to us as DownloadError, explained there


class _ProgressHook:
    """yt-dlp's progress dicts → ``SourceProgress``, with a fraction that never goes back."""

    def __init__(self, callback: ProgressFn) -> None:
        self.callback = callback
        self.fraction = 0.0

    def __call__(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        if status not in ("downloading", "finished"):
            return
        done = _int(d.get("downloaded_bytes"))
        total = _int(d.get("total_bytes")) or _int(d.get("total_bytes_estimate"))
        if status == "finished":
            fraction: float | None = 1.0
            total = total or done
        elif total:
            fraction = min(1.0, (done or 0) / total)
        else:
            fraction = None
        if fraction is not None:
            self.fraction = fraction = max(self.fraction, fraction)
        speed = _float(d.get("speed"))
        self.callback(
            SourceProgress(
                stage="download",
                fraction=fraction,
                message=_describe(done, total, speed if status == "downloading" else None),
                eta_s=_float(d.get("eta")),
                downloaded_bytes=done,
                total_bytes=total,
                speed_bps=speed,
            )
        )


def _describe(done: int | None, total: int | None, speed_bps: float | None) -> str:
    """A caption for a progress bar, e.g. ``12.3 of 50.0 MB, 2.1 MB/s``."""
    mb = 1e6
    text = (
        f"{(done or 0) / mb:.1f} of {total / mb:.1f} MB" if total else f"{(done or 0) / mb:.1f} MB"
    )
    return f"{text}, {speed_bps / mb:.1f} MB/s" if speed_bps else text


def _match_filter(info: dict[str, Any], incomplete: bool = False) -> str | None:
    # Runs before each download; raising stops yt-dlp before it writes anything.
    if info.get("playlist_index") is not None:
        raise _playlist(str(info.get("webpage_url") or info.get("original_url") or "that link"))
    _refuse_live(info, str(info.get("webpage_url") or "that link"))
    return None


def _refuse_live(info: dict[str, Any], url: str) -> None:
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise SourceError(
            f"{url} is a live stream; wait until it ends and open the VOD it leaves behind."
        )


# --- the index of finished downloads -------------------------------------------------


def _index_file(canon: str) -> Path:
    return downloads_dir() / "index" / f"{_hash(canon)}.json"


def _read_entry(canon: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(_index_file(canon).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("path"), str) else None


def _lookup(canon: str) -> Source | None:
    """The finished download for ``canon``, or None if unknown, moved, or not complete."""
    entry = _read_entry(canon)
    if entry is None:
        return None
    path = downloads_dir() / entry["path"]
    try:
        if not path.is_file() or path.stat().st_size != entry.get("size_bytes"):
            return None
        media = _probe(path)
    except (OSError, SourceError):
        return None  # damaged or replaced: fetch it again
    return _source_from_entry(path, entry, media)


def _remember(canon: str, entry: dict[str, Any]) -> None:
    index = _index_file(canon)
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp = index.with_name(f"{index.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entry, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, index)  # atomic: readers see the old entry or the new, never half


def _source_from_entry(path: Path, entry: dict[str, Any], media: MediaInfo) -> Source:
    return Source(
        path=path,
        title=str(entry.get("title") or path.stem),
        duration_s=_float(entry.get("duration_s")) or media.duration_s,
        url=entry.get("webpage_url") or entry.get("url"),
        uploader=entry.get("uploader"),
        has_video=media.has_video,
        fps=media.fps,
        audio_tracks=media.audio_tracks,
        default_track=media.default_track,
        published=_float(entry.get("published")),
    )


def _published(info: dict[str, Any]) -> float | None:
    """When the stream aired: yt-dlp's timestamp, else its upload_date (YYYYMMDD, UTC)."""
    for key in ("release_timestamp", "timestamp"):
        if (t := _float(info.get(key))) is not None:
            return t
    date = str(info.get("upload_date") or "")
    try:
        return datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


# --- yt-dlp errors → one sentence ----------------------------------------------------

_GONE = re.compile(
    r"private|unavailable|not available|removed|deleted|terminated|members[- ]only|"
    r"sign in|log ?in to|confirm your age|age[- ]restricted|copyright",
    re.IGNORECASE,
)
_NO_MEDIA = re.compile(r"unsupported url|no video formats|no media|no formats", re.IGNORECASE)
_CUT_SHORT = re.compile(r"bytes read|more expected|content too short|incomplete", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"connection refused|failed to resolve|name or service not known|getaddrinfo|"
    r"nodename nor servname|timed out|network is unreachable|no route to host|"
    r"connection reset|remote end closed",
    re.IGNORECASE,
)


def _explain(error: Exception, url: str) -> SourceError:
    from yt_dlp.networking.exceptions import HTTPError, IncompleteRead, SSLError, TransportError
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    host = urlsplit(url).hostname or url
    chain = list(_causes(error))
    reason = _first_line(error)

    if blocked := next((c for c in chain if isinstance(c, BlockedAddressError)), None):
        return blocked  # a redirect or a page's media led into the server's network

    if any(isinstance(c, UnsupportedError) for c in chain) or _NO_MEDIA.search(reason):
        return _no_media(url)
    if any(isinstance(c, GeoRestrictedError) for c in chain):
        return SourceError(
            f"The video at {url} is not available in your country; open it from where it is."
        )
    if http := next((c for c in chain if isinstance(c, HTTPError)), None):
        status = http.status
        if status in (401, 403, 404, 410):
            return SourceError(
                f"The video at {url} is private, removed or not found (HTTP {status}); "
                "check the link and that the video is public."
            )
        return SourceError(f"{host} answered with an error (HTTP {status}); try again later.")
    if any(isinstance(c, IncompleteRead) for c in chain) or _CUT_SHORT.search(reason):
        return SourceError(
            f"The download from {host} stopped before the end; run it again to resume."
        )
    if any(isinstance(c, SSLError) for c in chain):
        return SourceError(
            f"Could not make a secure connection to {host}; check the link and your connection."
        )
    if any(isinstance(c, TransportError) for c in chain) or _UNREACHABLE.search(reason):
        return SourceError(f"Could not reach {host}; check the link and your connection.")
    if "no space left" in reason.lower():
        return SourceError(
            f"The disk holding {downloads_dir()} is full; free some space or set "
            "HYPELINE_HOME to a folder on a bigger disk."
        )
    if _GONE.search(reason):
        return SourceError(
            f"The video at {url} is private, removed or not available ({reason}); "
            "check the link and that the video is public."
        )
    return SourceError(
        f"Could not get the video at {url} ({reason}); check the link, "
        "or update yt-dlp with `pip install -U yt-dlp`."
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps: yt-dlp's exc_info/cause/handler errors, Python's chain."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        exc_info = getattr(e, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            todo.append(cause)
        # NoSupportingHandlers: what each request handler hit (theirs, and ours raised
        # from inside a connection, e.g. BlockedAddressError).
        for name in ("unexpected_errors", "unsupported_errors"):
            todo += [x for x in getattr(e, name, None) or () if isinstance(x, BaseException)]
        todo += [e.__cause__, e.__context__]


def _first_line(error: BaseException) -> str:
    """yt-dlp's message without "ERROR: [extractor] id:" and without what follows a newline."""
    text = _ANSI.sub("", str(getattr(error, "orig_msg", None) or error)).replace("\r", "")
    text = re.sub(r"^\s*ERROR:\s*", "", text)
    line = text.strip().splitlines()[0] if text.strip() else ""
    if (m := re.match(r"^\[[^\]]+\]\s*", line)) is not None:
        line = re.sub(r"^[^:\s]+:\s+", "", line[m.end() :])  # "[youtube] <id>: ..."
    line = re.sub(r"\s*\(caused by .*$", "", line).strip().rstrip(".")
    if len(line) > REASON_MAX_CHARS:
        line = line[: REASON_MAX_CHARS - 1].rstrip() + "…"
    return line or type(error).__name__


def _no_media(url: str) -> SourceError:
    return SourceError(
        f"No video or audio found at {url}; paste the link of the video page itself."
    )


def _playlist(url: str) -> SourceError:
    return SourceError(
        f"{url} is a playlist or channel, not one video; paste the link of a single video."
    )


# --- small helpers -------------------------------------------------------------------


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "video"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
