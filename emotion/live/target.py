"""What a live source is, looked at before anything is written: ``check_target``.

A playlist must answer and not be finished (a finished one is a VOD); a page must be live
now according to yt-dlp; a local file is read at 1× speed only when asked. The one
sentence a source that cannot be followed is refused with comes from here, before a
monitor starts; ``emotion.live.ingest`` then follows what was found.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emotion.errors import SourceError
from emotion.media import downloads
from emotion.media.audio import probe
from emotion.media.netguard import Address, public_only
from emotion.media.source import is_link

PLAYLIST_TIMEOUT_S = 10.0


class NotLiveError(SourceError):
    """The source is a recording (a file, a finished playlist, a VOD page), not live."""


@dataclass(frozen=True)
class Target:
    """What a live source is: a playlist, a page yt-dlp resolves, or a local file."""

    spec: str
    kind: str  # "hls" | "page" | "file"
    title: str

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


def check_target(spec: str, realtime: bool, guard: Collection[Address] | None = None) -> Target:
    """Look at a live source before anything is written; one sentence if it cannot be followed.

    A playlist must answer and not be finished (a finished one is a VOD); a page must be
    live now according to yt-dlp; a local file is read at 1× speed only when ``realtime``.
    With a ``guard``, a link is reached at public addresses (or those it lists) only.
    """
    spec = spec.strip()
    if guard is not None and is_link(spec):
        with public_only(guard):
            return check_target(spec, realtime)
    if not is_link(spec):
        path = Path(spec).expanduser()
        if not probe(path).has_audio:
            raise SourceError(f"{path.name} has no audio track; pick a file with sound.")
        if not realtime:
            raise NotLiveError(
                f"{path.name} is a file, not a live stream; analyse it as a VOD, or read it at "
                "1× speed as if it were live."
            )
        return Target(str(path), "file", path.stem)
    if is_playlist_url(spec):
        text = fetch_playlist(spec)
        if "#EXT-X-ENDLIST" in text and "#EXT-X-STREAM-INF" not in text:
            raise NotLiveError(
                f"{spec} is a finished recording, not a live stream; analyse it as a VOD."
            )
        return Target(spec, "hls", _title_of(spec))
    info = ytdlp_info(spec)
    if not (info.get("is_live") or info.get("live_status") == "is_live"):
        raise NotLiveError(f"{spec} is not live now; analyse the VOD instead.")
    title = str(info.get("title") or info.get("uploader") or _title_of(spec))
    return Target(spec, "page", title)


def fetch_playlist(url: str) -> str:
    """The text of an HLS playlist; a ``SourceError`` when it cannot be had or is not one."""
    host = urlsplit(url).hostname or url
    try:
        with urllib.request.urlopen(url, timeout=PLAYLIST_TIMEOUT_S) as r:
            text = r.read(2 * 1024 * 1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        raise SourceError(f"{host} answered HTTP {e.code} for {url}; check the link.") from e
    except (urllib.error.URLError, OSError) as e:
        raise SourceError(f"Could not reach {host}; check the link and your connection.") from e
    if not text.lstrip("\ufeff").startswith("#EXTM3U"):
        raise SourceError(
            f"No live audio found at {url} (it is not an HLS playlist); check the link."
        )
    return text


def is_playlist_url(url: str) -> bool:
    """Whether a link names an HLS playlist (by its path's ending)."""
    return urlsplit(url).path.lower().endswith((".m3u8", ".m3u"))


def _title_of(spec: str) -> str:
    parts = urlsplit(spec)
    name = Path(parts.path).stem if parts.path not in ("", "/") else ""
    return f"{parts.hostname or spec} {name}".strip() if name else parts.hostname or spec


def ytdlp_info(url: str) -> dict[str, Any]:
    """yt-dlp's look at a page (live or not, its audio's URL); a ``SourceError`` if none."""
    info = downloads.probe(
        url, format="bestaudio/best", retries=2, extractor_retries=1, socket_timeout=15
    )
    if not info:
        raise SourceError(f"No live audio found at {url}; paste the link of the channel or stream.")
    return info
