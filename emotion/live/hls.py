"""A live stream fetched in Python, for links someone else gave: HLS segments (or a plain
HTTP body) written in order to a pipe that ffmpeg decodes.

Why not let ffmpeg fetch it: a link is checked as public (``netguard.check_public_url``)
before a monitor starts, but ffmpeg would look the host up again, and a name can answer
differently the second time (DNS rebinding: public for the check, 127.0.0.1 for the
read). Fetched here, in a thread under ``netguard.public_only``, every connection (the
playlist, each segment, every redirect) is judged at the address it really goes to.

Only what a live monitor needs: a master playlist's audio rendition, else its lightest
variant; the media playlist polled at half its target duration, starting at the newest
segment (as ``-live_start_index -1`` does for ffmpeg); an fMP4 init segment once;
encrypted segments refused.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from emotion.errors import SourceError
from emotion.media.netguard import Address, public_only

TIMEOUT_S = 10.0
CHUNK_BYTES = 64 * 1024
PLAYLIST_BYTES = 2 * 1024 * 1024
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class MediaPlaylist:
    sequence: int  # EXT-X-MEDIA-SEQUENCE: the number of the first segment listed
    segments: tuple[str, ...]  # absolute URLs
    target_s: float
    init: str | None  # EXT-X-MAP's URI (fMP4)
    ended: bool
    encrypted: bool


def feed(url: str, out: BinaryIO, stop: threading.Event, allow: Collection[Address] = ()) -> None:
    """Write the stream at ``url`` to ``out`` until it ends, ``stop`` is set or ``out`` closes.

    Every connection is refused unless its address is public or in ``allow``
    (``BlockedAddressError``); other failures are a ``SourceError`` (the caller reconnects).
    """
    with public_only(allow):
        try:
            body, text = _open(url)
            with body:
                if text is None:
                    _copy(body, out, stop)
                    return
            _follow(url, text, out, stop)
        except BrokenPipeError:
            return  # ffmpeg was stopped: nothing more to write


def parse_media(url: str, text: str) -> MediaPlaylist:
    sequence, target_s, init, ended, encrypted = 0, 2.0, None, False, False
    segments: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target_s = float(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:"):
            uri = _attributes(line).get("URI")
            init = urljoin(url, uri) if uri else None
        elif line.startswith("#EXT-X-KEY:"):
            encrypted = encrypted or _attributes(line).get("METHOD", "NONE") != "NONE"
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            segments.append(urljoin(url, line))
    return MediaPlaylist(sequence, tuple(segments), target_s, init, ended, encrypted)


def pick_variant(url: str, text: str) -> str | None:
    """A master playlist's audio rendition, else its lightest variant; None for a media playlist."""
    variants: list[tuple[int, str]] = []
    audio: str | None = None
    lines = [raw.strip() for raw in text.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-MEDIA:"):
            attrs = _attributes(line)
            if attrs.get("TYPE") == "AUDIO" and attrs.get("URI") and audio is None:
                audio = urljoin(url, attrs["URI"])
        elif line.startswith("#EXT-X-STREAM-INF:"):
            bandwidth = int(_attributes(line).get("BANDWIDTH", "0") or 0)
            following = next((x for x in lines[i + 1 :] if x and not x.startswith("#")), None)
            if following:
                variants.append((bandwidth, urljoin(url, following)))
    if audio is not None:
        return audio
    return min(variants)[1] if variants else None


def _follow(url: str, text: str, out: BinaryIO, stop: threading.Event) -> None:
    if (variant := pick_variant(url, text)) is not None:
        url, text = variant, _playlist(variant)
    playlist = parse_media(url, text)
    if playlist.encrypted:
        raise SourceError(f"{_host(url)} sends encrypted segments, which Hypeline cannot read.")
    next_number = playlist.sequence + max(0, len(playlist.segments) - 1)  # the newest first
    wrote_init = False
    while not stop.is_set():
        if playlist.init is not None and not wrote_init:
            _fetch_to(playlist.init, out, stop)
            wrote_init = True
        for number, segment in enumerate(playlist.segments, start=playlist.sequence):
            if number >= next_number and not stop.is_set():
                _fetch_to(segment, out, stop)
                next_number = number + 1
        if playlist.ended or stop.wait(max(0.5, playlist.target_s / 2)):
            return
        playlist = parse_media(url, _playlist(url))
        if next_number < playlist.sequence:  # fell behind the window: go on from its start
            next_number = playlist.sequence


def _open(url: str) -> tuple[BinaryIO, str | None]:
    """The response, and its text when it is an HLS playlist (read whole, bounded)."""
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        raise SourceError(f"{_host(url)} answered HTTP {e.code} for {url}.") from e
    except urllib.error.URLError as e:  # (a refused address is netguard's own error)
        raise SourceError(f"Could not reach {_host(url)} ({e.reason}).") from e
    head = response.peek(7) if hasattr(response, "peek") else b""
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"#EXTM3U") or _is_playlist(url):
        text = response.read(PLAYLIST_BYTES).decode("utf-8", "replace")
        if text.lstrip("\ufeff").startswith("#EXTM3U"):
            return response, text
        raise SourceError(f"No live audio found at {url} (not an HLS playlist).")
    return response, None


def _playlist(url: str) -> str:
    body, text = _open(url)
    body.close()
    if text is None:
        raise SourceError(f"No live audio found at {url} (not an HLS playlist).")
    return text


def _fetch_to(url: str, out: BinaryIO, stop: threading.Event) -> None:
    body, text = _open(url)
    with body:
        if text is not None:
            raise SourceError(f"{url} is a playlist where a segment was expected.")
        _copy(body, out, stop)


def _copy(body: BinaryIO, out: BinaryIO, stop: threading.Event) -> None:
    while not stop.is_set() and (data := body.read(CHUNK_BYTES)):
        out.write(data)
        out.flush()


def _attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTRIBUTE.findall(line.split(":", 1)[1])}


def _is_playlist(url: str) -> bool:
    return urlsplit(url).path.lower().endswith((".m3u8", ".m3u"))


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
