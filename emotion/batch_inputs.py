"""A batch's inputs spelled out: ``expand`` turns what the user gave into one item per VOD.

Files are themselves; folders are searched recursively for media files; a text file
(``.txt``, ``.list``) holds paths and links, one a line (``#`` starts a comment); a video
link is itself and a channel or playlist link is its VODs, read flat through yt-dlp (no
page of each VOD is fetched), within a limit and dates when the site gives them. Items
come in the order given (a playlist newest first, as the site lists it), each VOD once.
What cannot be opened is still an item, with its sentence when it is known already, so
the batch reports it and goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion.errors import HypelineError, SourceError
from emotion.media import downloads
from emotion.media.source import is_link

# What a folder is searched for (ffmpeg reads more; these are what a VOD folder holds).
_VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".flv", ".ts", ".m4v", ".avi")
_AUDIO_SUFFIXES = (".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus")
MEDIA_SUFFIXES = frozenset(_VIDEO_SUFFIXES + _AUDIO_SUFFIXES)
LIST_SUFFIXES = frozenset({".txt", ".list"})  # a text file of paths and links, one a line


@dataclass(frozen=True, slots=True)
class Item:
    """One VOD of the batch: what to open, and why it cannot be when that is known already."""

    spec: str
    error: str | None = None


def expand(
    inputs: Sequence[str],
    *,
    limit: int | None = None,
    since: str | None = None,
    until: str | None = None,
    probe: Callable[..., dict] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Item]:
    """One item per VOD of ``inputs``, each VOD once (the first time it is named).

    ``limit``, ``since`` and ``until`` (``YYYYMMDD``) bound a channel or playlist link;
    ``probe`` is yt-dlp's metadata call (by default ``emotion.media.downloads.probe``,
    which imports yt-dlp on its first call: that takes half a second).
    """
    if not inputs:
        raise HypelineError("Give the VODs to analyse: files, folders, a list file or a link.")
    for name, value in (("since", since), ("until", until)):
        if value is not None and not (len(value) == 8 and value.isdigit()):
            raise HypelineError(f"The {name} date {value!r} is not YYYYMMDD; write e.g. 20260301.")
    if limit is not None and limit < 1:
        raise HypelineError("The limit counts VODs; give 1 or more.")
    seen: set[str] = set()
    items: list[Item] = []
    for item in _items(inputs, limit, since, until, probe or downloads.probe, on_note):
        if item.spec not in seen:
            seen.add(item.spec)
            items.append(item)
    if not items:
        raise HypelineError(
            "No VOD found in what was given (folders are searched for media files: "
            f"{', '.join(sorted(MEDIA_SUFFIXES))}); give files, folders or links."
        )
    return items


def _items(
    inputs: Iterable[str],
    limit: int | None,
    since: str | None,
    until: str | None,
    probe: Callable[..., dict],
    on_note: Callable[[str], None] | None,
) -> Iterator[Item]:
    for text in inputs:
        if is_link(text):
            yield from _link(text, limit, since, until, probe, on_note)
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            media = (p for p in path.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES)
            found = sorted(p for p in media if p.is_file())
            if not found and on_note is not None:
                on_note(f"no media file in {path}")
            yield from (Item(str(p.resolve())) for p in found)
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
            entries = [line for line in lines if line and not line.startswith("#")]
            yield from _items(entries, limit, since, until, probe, on_note)
        elif path.exists():
            yield Item(str(path.resolve()))
        else:  # said by analyze's own sentence, and the batch goes on
            yield Item(text)


def _link(
    url: str,
    limit: int | None,
    since: str | None,
    until: str | None,
    probe: Callable[..., dict],
    on_note: Callable[[str], None] | None,
) -> Iterator[Item]:
    """A video link is itself; a channel or playlist link is its VODs (flat: no page of
    each VOD is fetched), within ``limit`` and the dates when the site gives them."""
    try:
        info = probe(url, noplaylist=False, extract_flat="in_playlist", playlistend=limit)
    except SourceError as e:
        yield Item(url, str(e))
        return
    entries = info.get("entries")
    if entries is None:
        yield Item(url)
        return
    undated = 0
    n = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("webpage_url")
        if not link:
            continue
        date = entry.get("upload_date") or _date_of(entry.get("timestamp"))
        if since is not None or until is not None:
            if date is None:
                undated += 1
            elif (since is not None and date < since) or (until is not None and date > until):
                continue
        if limit is not None and n >= limit:
            break
        n += 1
        yield Item(str(link))
    if undated and on_note is not None:
        on_note(
            f"{undated} VOD(s) of {url} carry no date in the playlist, so --since/--until "
            "could not judge them; they are in the batch"
        )
    if n == 0 and on_note is not None:
        on_note(f"no VOD of {url} is in the batch")


def _date_of(timestamp: object) -> str | None:
    if not isinstance(timestamp, int | float):
        return None
    return time.strftime("%Y%m%d", time.gmtime(timestamp))
