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
from pathlib import Path

from emotion.errors import SourceError
from emotion.media import disk
from emotion.media.downloads import open_url
from emotion.media.local_files import check_file, file_identity, looks_like_host
from emotion.media.media_roots import resolve_under
from emotion.media.source import DEFAULT_PORTS, Source, SourcePolicy, canonical_url
from emotion.progress import ProgressFn

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


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
        if scheme not in DEFAULT_PORTS:
            raise SourceError(
                f"Only http(s) links are supported, not {scheme}: links; "
                "for a file on this computer, give its path."
            )
        return open_url(text, progress, policy)
    if policy is not None:
        return _open_file(resolve_under(text, policy.media_folders))
    path = Path(spec)
    if not path.exists():
        path = Path(text).expanduser()
    return _open_file(path, looks_like_link=looks_like_host(text))


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
