"""Chat replays of a VOD, read as a stream of messages whichever tool downloaded them.

The format is told from the content, never the file name: ``detect_format`` reads the
first 64 KiB. ``read_chat`` then streams the file: a 4-hour Twitch VOD's chat can be 1–2 M
messages in hundreds of MB, so nothing holds more than a few MiB of it at once.

This module tells the format and dispatches; the byte-level reading the readers share is
``emotion.chat.stream``'s, each format's structs and reader are ``emotion.chat.readers``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from emotion.chat.readers import (
    csv_columns,
    read_chat_downloader,
    read_csv,
    read_twitch,
    read_youtube,
)
from emotion.chat.stream import (
    HEAD_BYTES,
    Message,
    Source,
    ends_inside,
    looks_truncated,
    object_keys,
    open_chat,
    skip_ws,
    truncated,
)
from emotion.errors import ChatError
from emotion.progress import Progress, ProgressFn

TWITCHDOWNLOADER: Final = "twitchdownloader"
RECHAT: Final = "rechat"  # yt-dlp's Twitch "rechat" subtitle: the v5 comments API's body
YOUTUBE: Final = "youtube"  # yt-dlp's live_chat.json: one JSON action per line
CHAT_DOWNLOADER: Final = "chat-downloader"
CSV: Final = "csv"
FORMATS: Final = (TWITCHDOWNLOADER, RECHAT, YOUTUBE, CHAT_DOWNLOADER, CSV)

# TwitchDownloader writes these beside "comments"; the v5 API's body (rechat) has only
# "comments" and the "_next"/"_prev" cursors.
_TWITCHDOWNLOADER_KEYS = frozenset({"FileInfo", "streamer", "video", "embeddedData"})


def detect_format(path: Path) -> str:
    """The name of the chat format in ``path`` (one of ``FORMATS``), from its first bytes."""
    with open_chat(path) as raw:
        head = Source(raw).read(HEAD_BYTES)
        at_eof = not raw.read(1)
    return _detect(head.decode("utf-8", errors="replace"), at_eof, path.name)


def read_chat(
    path: Path, fmt: str | None = None, progress: ProgressFn | None = None
) -> Iterator[Message]:
    """The messages of a chat replay in file order; ``fmt`` as ``detect_format`` names it.

    A damaged or truncated file raises ``ChatError`` where the damage is, after the
    messages before it have been yielded.
    """
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ChatError(f"{fmt!r} is not a chat format; use one of {', '.join(FORMATS)}.")
    size = max(path.stat().st_size, 1)
    with open_chat(path) as raw:
        source = Source(raw)

        def report(n_messages: int) -> None:
            if progress:
                fraction = min(source.bytes_read / size, 1.0)
                progress(Progress("chat", fraction, f"Reading chat: {n_messages:,} messages"))

        yield from _READERS[fmt](source, path.name, report)


# -- detection ---------------------------------------------------------------------------


def _detect(head: str, at_eof: bool, name: str) -> str:
    start = skip_ws(head, 0)
    if start >= len(head):
        raise ChatError(f"{name} is empty; download the chat again.")
    first = head[start]
    if first == "{":
        line_end = head.find("\n", start)
        first_line = head[start : line_end if line_end >= 0 else len(head)]
        try:
            line_obj = json.loads(first_line)
        except ValueError:
            line_obj = None
        if isinstance(line_obj, dict) and "replayChatItemAction" in line_obj:
            return YOUTUBE
        keys = []
        for key, _ in object_keys(head, start):
            keys.append(key)
            if key == "comments":
                break
        if "comments" in keys:
            return TWITCHDOWNLOADER if _TWITCHDOWNLOADER_KEYS & set(keys) else RECHAT
        if _TWITCHDOWNLOADER_KEYS & set(keys) and not at_eof:
            return TWITCHDOWNLOADER  # "comments" comes after a long "video" block
    elif first == "[":
        element = _first_element(head, start)
        if element is _TRUNCATED and at_eof:
            raise truncated(name, 0)
        if element == "empty":
            return CHAT_DOWNLOADER  # what chat-downloader writes for a VOD without chat
        if isinstance(element, dict):
            if "content_offset_seconds" in element:
                return RECHAT
            if "time_in_seconds" in element or {"message", "author"} <= element.keys():
                return CHAT_DOWNLOADER
    elif csv_columns(head[start:].split("\n", 1)[0]) is not None:
        return CSV
    if first in "{[" and at_eof and looks_truncated(head, start):
        raise truncated(name, 0)
    raise ChatError(
        f"{name} is not a chat replay Hypeline can read; give the JSON of TwitchDownloader, "
        "yt-dlp (Twitch rechat or YouTube live_chat) or chat-downloader, or a CSV with the "
        "columns time_s,author,text."
    )


_TRUNCATED: Final = object()


def _first_element(text: str, start: int) -> object:
    """The first element of the array at ``start``, ``"empty"``, ``_TRUNCATED`` or None."""
    pos = skip_ws(text, start + 1)
    if pos < len(text) and text[pos] == "]":
        return "empty"
    try:
        return json.JSONDecoder().raw_decode(text, pos)[0]
    except ValueError as error:
        return _TRUNCATED if ends_inside(error, text) else None


_Reader = Callable[[Source, str, Callable[[int], None]], Iterator[Message]]

_READERS: dict[str, _Reader] = {
    TWITCHDOWNLOADER: read_twitch,
    RECHAT: read_twitch,
    YOUTUBE: read_youtube,
    CHAT_DOWNLOADER: read_chat_downloader,
    CSV: read_csv,
}
