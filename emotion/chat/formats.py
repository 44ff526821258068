"""Chat replays of a VOD, read as a stream of messages whichever tool downloaded them.

The format is told from the content, never the file name: ``detect_format`` reads the
first 64 KiB. ``read_chat`` then streams the file: a 4-hour Twitch VOD's chat can be 1–2 M
messages in hundreds of MB, so nothing holds more than a few MiB of it at once.

JSON arrays are cut into batches of whole elements and each batch is decoded by msgspec
into small typed structs that skip the fields we do not use. On a 1 M-message
TwitchDownloader file (550 MB) ijson took 16 s and json.loads per comment 13 s on a
2-core machine; msgspec batches take ~4 s (bench/bench_chat.py). Bytes are decoded as
UTF-8 with errors replaced (a BOM is dropped), so a file with a stray Latin-1 byte still
reads and emoji survive.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

import msgspec

from emotion.clock import parse_clock
from emotion.errors import ChatError, HypelineError
from emotion.progress import Progress, ProgressFn

TWITCHDOWNLOADER: Final = "twitchdownloader"
RECHAT: Final = "rechat"  # yt-dlp's Twitch "rechat" subtitle: the v5 comments API's body
YOUTUBE: Final = "youtube"  # yt-dlp's live_chat.json: one JSON action per line
CHAT_DOWNLOADER: Final = "chat-downloader"
CSV: Final = "csv"
FORMATS: Final = (TWITCHDOWNLOADER, RECHAT, YOUTUBE, CHAT_DOWNLOADER, CSV)

HEAD_BYTES = 64 * 1024  # what detection reads
CHUNK_BYTES = 4 * 1024 * 1024  # what one batch of a JSON array decodes from
MAX_ELEMENT_BYTES = 64 * 1024 * 1024  # one message larger than this is not chat
# TwitchDownloader writes these beside "comments"; the v5 API's body (rechat) has only
# "comments" and the "_next"/"_prev" cursors.
_TWITCHDOWNLOADER_KEYS = frozenset({"FileInfo", "streamer", "video", "embeddedData"})
_CSV_TIME = ("time_s", "time", "seconds", "offset_s")
_CSV_TEXT = ("text", "message")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: when in the VOD, who, what, and the emotes it holds (in order)."""

    time_s: float
    author: str
    text: str
    emotes: tuple[str, ...] = ()


def detect_format(path: Path) -> str:
    """The name of the chat format in ``path`` (one of ``FORMATS``), from its first bytes."""
    with _open(path) as raw:
        head = _Source(raw).read(HEAD_BYTES)
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
    with _open(path) as raw:
        source = _Source(raw)

        def report(n_messages: int) -> None:
            if progress:
                fraction = min(source.bytes_read / size, 1.0)
                progress(Progress("chat", fraction, f"Reading chat: {n_messages:,} messages"))

        yield from _READERS[fmt](source, path.name, report)


# -- bytes → text ------------------------------------------------------------------------


def _open(path: Path) -> BinaryIO:
    try:
        if path.stat().st_size == 0:
            raise ChatError(f"{path.name} is empty; download the chat again.")
        return path.open("rb")
    except FileNotFoundError:
        raise ChatError(f"{path} does not exist; check the path of the chat file.") from None
    except IsADirectoryError:
        raise ChatError(f"{path} is a folder; give the chat file inside it.") from None
    except PermissionError:
        raise ChatError(f"{path} cannot be read; check its permissions.") from None


class _Source:
    """A chat file's bytes, read in pieces, a leading BOM dropped, the bytes read counted.

    JSON stays bytes (msgspec decodes UTF-8 itself, and a cut is always at an ASCII
    ``}``); where text is needed it is decoded with ``surrogateescape`` (``_text``), so
    that a character index maps back to the exact byte (``_byte_len``).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.eof = False

    def read(self, n_bytes: int) -> bytes:
        data = self._raw.read(n_bytes)
        first, self.bytes_read, self.eof = (
            not self.bytes_read,
            self.bytes_read + len(data),
            not data,
        )
        return data.removeprefix(codecs.BOM_UTF8) if first else data

    def lines(self) -> Iterator[tuple[int, str]]:
        """``(line number from 1, line)``: UTF-8 with errors replaced, newline stripped."""
        for number, data in enumerate(self._raw, 1):
            self.bytes_read += len(data)
            line = data.decode("utf-8", errors="replace")
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line.rstrip("\r\n")
        self.eof = True


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _byte_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogateescape"))


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes) -> Any:
    """``decoder.decode``, again with bad UTF-8 replaced if that was what failed."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return decoder.decode(data.decode("utf-8", errors="replace").encode())
        raise


# -- detection ---------------------------------------------------------------------------


def _detect(head: str, at_eof: bool, name: str) -> str:
    start = _skip_ws(head, 0)
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
        for key, _ in _object_keys(head, start):
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
            raise _truncated(name, 0)
        if element == "empty":
            return CHAT_DOWNLOADER  # what chat-downloader writes for a VOD without chat
        if isinstance(element, dict):
            if "content_offset_seconds" in element:
                return RECHAT
            if "time_in_seconds" in element or {"message", "author"} <= element.keys():
                return CHAT_DOWNLOADER
    elif _csv_columns(head[start:].split("\n", 1)[0]) is not None:
        return CSV
    if first in "{[" and at_eof and _looks_truncated(head, start):
        raise _truncated(name, 0)
    raise ChatError(
        f"{name} is not a chat replay Hypeline can read; give the JSON of TwitchDownloader, "
        "yt-dlp (Twitch rechat or YouTube live_chat) or chat-downloader, or a CSV with the "
        "columns time_s,author,text."
    )


_TRUNCATED: Final = object()
_NO_EMOTES: tuple[str, ...] = ()


def _first_element(text: str, start: int) -> object:
    """The first element of the array at ``start``, ``"empty"``, ``_TRUNCATED`` or None."""
    pos = _skip_ws(text, start + 1)
    if pos < len(text) and text[pos] == "]":
        return "empty"
    try:
        return json.JSONDecoder().raw_decode(text, pos)[0]
    except ValueError as error:
        return _TRUNCATED if _ends_inside(error, text) else None


def _looks_truncated(text: str, start: int) -> bool:
    try:
        json.JSONDecoder().raw_decode(text, start)
    except ValueError as error:
        return _ends_inside(error, text)
    return False


def _ends_inside(error: ValueError, text: str) -> bool:
    """Whether a JSON error is the text running out rather than a wrong character."""
    pos = getattr(error, "pos", 0)
    message = str(error)
    return message.startswith("Unterminated string") or _skip_ws(text, pos) >= len(text)


def _object_keys(text: str, start: int) -> Iterator[tuple[str, int]]:
    """``(key, index of its value)`` of a JSON object's members, up to where the text ends.

    The caller stops consuming at the key it wants; the values before it are decoded to
    step over them (a TwitchDownloader file's "streamer" and "video" are small).
    """
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, start + 1)
    try:
        while pos < len(text) and text[pos] == '"':
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ":":
                return
            pos = _skip_ws(text, pos + 1)
            yield key, pos
            _, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ",":
                return
            pos = _skip_ws(text, pos + 1)
    except ValueError:
        return


def _csv_columns(header: str) -> tuple[int, int, int, int | None] | None:
    """Indices of (time, author, text, emotes or None) in a CSV header, None if not ours."""
    try:
        fields = [f.strip().lower() for f in next(csv.reader([header]))]
    except (csv.Error, StopIteration):
        return None
    time = next((fields.index(c) for c in _CSV_TIME if c in fields), None)
    text = next((fields.index(c) for c in _CSV_TEXT if c in fields), None)
    if time is None or text is None or "author" not in fields:
        return None
    return (
        time,
        fields.index("author"),
        text,
        fields.index("emotes") if "emotes" in fields else None,
    )


_WS = re.compile(r"\s*")


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


# -- errors ------------------------------------------------------------------------------


def _truncated(name: str, n_messages: int) -> ChatError:
    return ChatError(
        f"{name} ends in the middle of its JSON after {n_messages:,} messages (the download "
        "was cut off); download the chat again."
    )


def _damaged(name: str, n_messages: int) -> ChatError:
    return ChatError(
        f"{name} is damaged after {n_messages:,} messages (not valid JSON there); download "
        "the chat again."
    )


def _negative(name: str, time_s: float) -> ChatError:
    return ChatError(
        f"{name} has a message at {time_s:g} s, before the VOD starts, so its times are not "
        "offsets into this VOD; download the chat of the VOD again."
    )


def _no_time(name: str, n_messages: int, detail: str) -> ChatError:
    return ChatError(
        f"{name} has a message without a usable time after {n_messages:,} messages "
        f"({detail.rstrip('.')}); download the chat again."
    )


def _check_time(time_s: float | None, name: str, n: int) -> float:
    if time_s is None:
        raise _no_time(name, n, "no offset")
    if time_s < 0:
        raise _negative(name, time_s)
    return float(time_s)


# -- JSON arrays in batches --------------------------------------------------------------

T = TypeVar("T")
_Reader = Callable[[_Source, str, Callable[[int], None]], Iterator[Message]]
_WS_BYTES = re.compile(rb"[ \t\r\n]*")


def _array_elements(
    source: _Source, buf: bytes, pos: int, element_type: type[T], name: str
) -> Iterator[list[T]]:
    """Batches of the elements of the JSON array whose ``[`` is just before ``buf[pos]``.

    A batch ends at the last element boundary in the buffer: a ``}`` ``,`` ``{`` followed
    by the first two keys of the first element, so that the boundaries between nested
    objects (a comment's badges, its fragments) do not pass for one. A wrong cut cannot
    decode (its brackets do not balance), so a batch that fails is read again one element
    at a time, which also finds where the damage is.
    """
    batch_decoder = msgspec.json.Decoder(list[element_type])  # type: ignore[valid-type]
    one_decoder = msgspec.json.Decoder(element_type)
    boundary: re.Pattern[bytes] | None = None
    slow_until = -1  # after a batch failed: one element at a time up to its cut
    n = 0  # elements yielded, for the errors
    while True:
        pos = _WS_BYTES.match(buf, pos).end()  # type: ignore[union-attr]
        if len(buf) - pos < CHUNK_BYTES and not source.eof:
            buf, slow_until, pos = buf[pos:] + source.read(CHUNK_BYTES), slow_until - pos, 0
            continue
        if pos >= len(buf):
            raise _truncated(name, n)
        if buf[pos : pos + 1] == b"]":
            return
        if boundary is None:
            boundary = _boundary_pattern(buf, pos)
        cut = _last_boundary(boundary, buf, pos) if boundary and pos > slow_until else None
        if cut is not None:
            try:
                batch = _decode(batch_decoder, b"[" + buf[pos : cut + 1] + b"]")
            except msgspec.DecodeError:  # damage inside the batch: one by one finds it
                slow_until = cut
            else:
                n += len(batch)
                yield batch
                pos = buf.index(b"{", cut + 1)
                continue
        elif not source.eof and len(buf) - pos < MAX_ELEMENT_BYTES and pos > slow_until:
            buf, slow_until, pos = buf[pos:] + source.read(CHUNK_BYTES), slow_until - pos, 0
            continue  # no boundary yet: an element longer than the buffer
        # One element: the array's last, or one near damage.
        end = _element_end(buf, pos, source.eof, name, n)
        try:
            element = _decode(one_decoder, buf[pos:end])
        except msgspec.ValidationError as error:
            raise _no_time(name, n, str(error)) from None
        except msgspec.DecodeError:
            raise _damaged(name, n) from None
        n += 1
        yield [element]
        pos = _WS_BYTES.match(buf, end).end()  # type: ignore[union-attr]
        if buf[pos : pos + 1] == b",":
            pos += 1
        elif buf[pos : pos + 1] == b"]":
            return
        elif pos < len(buf):
            raise _damaged(name, n)
        elif source.eof:
            raise _truncated(name, n)


def _element_end(buf: bytes, pos: int, at_eof: bool, name: str, n: int) -> int:
    """The byte just past the JSON value at ``buf[pos]``."""
    for span in (64 * 1024, len(buf)):
        text = _text(buf[pos : pos + span])
        try:
            return pos + _byte_len(text[: json.JSONDecoder().raw_decode(text)[1]])
        except ValueError as error:
            if pos + span < len(buf) and _ends_inside(error, text):
                continue  # a value longer than the first span
            if at_eof and _ends_inside(error, text):
                raise _truncated(name, n) from None
            raise _damaged(name, n) from None
    raise _damaged(name, n)


_SCALAR = rb'(?:"(?:[^"\\]|\\.)*"|[-+.\w]+)'


def _boundary_pattern(buf: bytes, pos: int) -> re.Pattern[bytes] | None:
    """A pattern that matches ``}, {"first key": scalar, "second key":`` between elements."""
    text = _text(buf[pos : pos + 64 * 1024])
    keys = []
    for key, value_at in _object_keys(text, 0):
        keys.append((_json_key(key), text[value_at] not in "{["))
        if len(keys) == 2:
            break
    if not keys:
        return None
    pattern = rb"\}\s*,\s*\{\s*" + keys[0][0] + rb"\s*:"
    if len(keys) == 2 and keys[0][1]:
        pattern += rb"\s*" + _SCALAR + rb"\s*,\s*" + keys[1][0] + rb"\s*:"
    return re.compile(pattern)


def _json_key(key: str) -> bytes:
    return re.escape(json.dumps(key, ensure_ascii=False).encode())


def _last_boundary(boundary: re.Pattern[bytes], buf: bytes, pos: int) -> int | None:
    """Index of the ``}`` of the last element boundary after ``pos``, None if none."""
    for tail in (64 * 1024, len(buf)):
        last = None
        for match in boundary.finditer(buf, max(pos, len(buf) - tail)):
            last = match.start()
        if last is not None:
            return last
    return None


# -- Twitch: TwitchDownloader and rechat (the same comment objects) ----------------------


class _Emoticon(msgspec.Struct):
    pass


class _Fragment(msgspec.Struct):
    text: str = ""
    emoticon: _Emoticon | None = None


class _Commenter(msgspec.Struct):
    display_name: str | None = None
    name: str | None = None


class _TwitchMessage(msgspec.Struct):
    body: str | None = None
    fragments: list[_Fragment] | None = None


class _TwitchComment(msgspec.Struct):
    content_offset_seconds: float | None = None
    commenter: _Commenter | None = None
    message: _TwitchMessage | None = None


def _read_twitch(source: _Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    buf = source.read(HEAD_BYTES)
    while True:
        text = _text(buf)
        start = _skip_ws(text, 0)
        if text[start : start + 1] == "[":  # rechat saved as a bare list of comments
            at: int | None = start + 1
        else:
            at = next(
                (v + 1 for k, v in _object_keys(text, start) if k == "comments" and text[v] == "["),
                None,
            )
        if at is not None:
            pos = _byte_len(text[:at])
            break
        if source.eof or len(buf) > MAX_ELEMENT_BYTES:
            if source.eof and _looks_truncated(text, start):
                raise _truncated(name, 0)
            raise ChatError(
                f"{name} has no Twitch comments in it; download the chat again with "
                "TwitchDownloader or yt-dlp."
            )
        buf += source.read(CHUNK_BYTES)  # the blocks before "comments" were longer

    n = 0
    for batch in _array_elements(source, buf, pos, _TwitchComment, name):
        for comment in batch:
            time_s = _check_time(comment.content_offset_seconds, name, n)
            commenter, message = comment.commenter, comment.message
            author = (commenter.display_name or commenter.name or "") if commenter else ""
            body, emotes = "", _NO_EMOTES
            if message is not None:
                body = message.body or ""
                if message.fragments:
                    emotes = tuple(f.text for f in message.fragments if f.emoticon is not None)
            n += 1
            yield Message(time_s, author, body, emotes)
        report(n)


# -- chat-downloader ---------------------------------------------------------------------


class _CdAuthor(msgspec.Struct):
    name: str | None = None
    display_name: str | None = None


class _CdEmote(msgspec.Struct):
    name: str | None = None
    locations: list[Any] | None = None  # Twitch: one "begin-end" per use


class _CdMessage(msgspec.Struct):
    time_in_seconds: float | None = None
    message: str | None = None
    author: _CdAuthor | None = None
    emotes: list[_CdEmote] | None = None


def _read_chat_downloader(
    source: _Source, name: str, report: Callable[[int], None]
) -> Iterator[Message]:
    buf = source.read(HEAD_BYTES)
    pos = buf.index(b"[") + 1  # detection saw it first
    n, started = 0, False
    for batch in _array_elements(source, buf, pos, _CdMessage, name):
        for item in batch:
            if item.message is None and not item.emotes:
                continue  # a membership or system event, not a chat line
            time_s = item.time_in_seconds
            if time_s is not None and time_s < 0 and not started:
                continue  # chat before the stream went live (YouTube premieres and waits)
            time_s = _check_time(time_s, name, n)
            started = True
            author = (item.author.display_name or item.author.name or "") if item.author else ""
            emotes: tuple[str, ...] = ()
            if item.emotes:
                emotes = tuple(
                    e.name
                    for e in item.emotes
                    if e.name
                    for _ in range(max(1, len(e.locations or ())))
                )
            n += 1
            yield Message(time_s, author, item.message or "", emotes)
        report(n)


# -- YouTube live_chat.json (yt-dlp) -----------------------------------------------------


class _YtEmoji(msgspec.Struct, rename="camel"):
    emoji_id: str = ""
    shortcuts: list[str] | None = None
    is_custom_emoji: bool = False


class _YtRun(msgspec.Struct):
    text: str | None = None
    emoji: _YtEmoji | None = None


class _YtRuns(msgspec.Struct):
    runs: list[_YtRun] | None = None


class _YtSimpleText(msgspec.Struct, rename="camel"):
    simple_text: str = ""


class _YtRenderer(msgspec.Struct, rename="camel"):
    message: _YtRuns | None = None
    author_name: _YtSimpleText | None = None


class _YtItem(msgspec.Struct, rename="camel"):
    live_chat_text_message_renderer: _YtRenderer | None = None
    live_chat_paid_message_renderer: _YtRenderer | None = None  # a Super Chat


class _YtAdd(msgspec.Struct):
    item: _YtItem | None = None


class _YtAction(msgspec.Struct, rename="camel"):
    add_chat_item_action: _YtAdd | None = None


class _YtReplay(msgspec.Struct, rename="camel"):
    actions: list[_YtAction] | None = None
    video_offset_time_msec: str | None = None


class _YtLine(msgspec.Struct, rename="camel"):
    replay_chat_item_action: _YtReplay | None = None


def _read_youtube(source: _Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    decoder = msgspec.json.Decoder(_YtLine)
    n, started, pending = 0, False, ""
    for number, line in source.lines():
        if not line.strip():
            continue
        if pending:
            raise _damaged(name, n)  # a bad line followed by more lines: not a cut-off end
        try:
            replay = decoder.decode(line).replay_chat_item_action
        except msgspec.DecodeError:
            pending = line  # a last line cut off is truncation, anywhere else damage
            continue
        if replay is None or not replay.actions:
            continue
        for action in replay.actions:
            item = action.add_chat_item_action.item if action.add_chat_item_action else None
            if item is None:
                continue
            renderer = item.live_chat_text_message_renderer or item.live_chat_paid_message_renderer
            if renderer is None:
                continue
            try:
                time_s = int(replay.video_offset_time_msec or "") / 1000
            except ValueError:
                raise _no_time(name, n, f"line {number} has no videoOffsetTimeMsec") from None
            if time_s < 0 and not started:
                continue  # chat before the stream went live
            time_s = _check_time(time_s, name, n)
            started = True
            body, emotes = _youtube_runs(renderer.message.runs if renderer.message else None)
            author = renderer.author_name.simple_text if renderer.author_name else ""
            n += 1
            yield Message(time_s, author, body, emotes)
        if number % 10_000 == 0:
            report(n)
    if pending:
        raise _truncated(name, n)
    report(n)


def _youtube_runs(runs: Iterable[_YtRun] | None) -> tuple[str, tuple[str, ...]]:
    """The text (an emoji as its character, a channel emote as its shortcut) and emotes."""
    parts: list[str] = []
    emotes: list[str] = []
    for run in runs or ():
        if run.text is not None:
            parts.append(run.text)
        elif run.emoji is not None:
            emoji = run.emoji
            shortcut = emoji.shortcuts[0] if emoji.shortcuts else emoji.emoji_id
            token = shortcut if emoji.is_custom_emoji else (emoji.emoji_id or shortcut)
            parts.append(token)
            emotes.append(token)
    return "".join(parts), tuple(emotes)


# -- CSV ---------------------------------------------------------------------------------


def _read_csv(source: _Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    numbers: list[int] = []

    def lines() -> Iterator[str]:
        for number, line in source.lines():
            numbers.append(number)
            yield line

    rows = csv.reader(lines())
    header = next(rows, None)
    columns = _csv_columns(",".join(header)) if header else None
    if columns is None:
        raise ChatError(f"{name}'s first line is not the header time_s,author,text; add it.")
    time_at, author_at, text_at, emotes_at = columns
    width = max(c for c in columns if c is not None) + 1
    n = 0
    for row in rows:
        number = numbers[-1]
        del numbers[:-1]
        if not row or not any(field.strip() for field in row):
            continue
        if len(row) < width:
            raise ChatError(
                f"{name} line {number} has {len(row)} columns, not {width}; quote a text that "
                'holds commas ("like, this").'
            )
        value = row[time_at].strip()
        try:
            time_s = float(value)
        except ValueError:
            try:
                time_s = parse_clock(value)
            except HypelineError:  # reworded with the line number
                raise ChatError(
                    f"{name} line {number}: {value!r} is not a time; write times as seconds, "
                    "m:ss or h:mm:ss."
                ) from None
        if time_s != time_s or time_s in (float("inf"), float("-inf")):
            raise ChatError(f"{name} line {number}: {value!r} is not a time; write seconds.")
        time_s = _check_time(time_s, name, n)
        emotes = tuple(row[emotes_at].split()) if emotes_at is not None else ()
        n += 1
        yield Message(time_s, row[author_at].strip(), row[text_at], emotes)
        if n % 10_000 == 0:
            report(n)
    report(n)


_READERS: dict[str, _Reader] = {
    TWITCHDOWNLOADER: _read_twitch,
    RECHAT: _read_twitch,
    YOUTUBE: _read_youtube,
    CHAT_DOWNLOADER: _read_chat_downloader,
    CSV: _read_csv,
}
