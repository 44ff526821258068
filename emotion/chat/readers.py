"""The readers of each downloader's chat format: msgspec structs for the fields used and
a reader that turns a file's ``Source`` into ``Message``s (TwitchDownloader and yt-dlp's
Twitch rechat, chat-downloader, yt-dlp's YouTube live_chat.json, a CSV)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from emotion.chat.stream import (
    CHUNK_BYTES,
    HEAD_BYTES,
    MAX_ELEMENT_BYTES,
    Message,
    Source,
    array_elements,
    as_text,
    byte_len,
    check_time,
    damaged,
    looks_truncated,
    no_time,
    object_keys,
    skip_ws,
    truncated,
)
from emotion.clock import parse_clock
from emotion.errors import ChatError, HypelineError

_NO_EMOTES: tuple[str, ...] = ()


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


def read_twitch(source: Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    """The comments of a TwitchDownloader JSON or a yt-dlp rechat (an object or a list)."""
    buf = source.read(HEAD_BYTES)
    while True:
        text = as_text(buf)
        start = skip_ws(text, 0)
        if text[start : start + 1] == "[":  # rechat saved as a bare list of comments
            at: int | None = start + 1
        else:
            at = next(
                (v + 1 for k, v in object_keys(text, start) if k == "comments" and text[v] == "["),
                None,
            )
        if at is not None:
            pos = byte_len(text[:at])
            break
        if source.eof or len(buf) > MAX_ELEMENT_BYTES:
            if source.eof and looks_truncated(text, start):
                raise truncated(name, 0)
            raise ChatError(
                f"{name} has no Twitch comments in it; download the chat again with "
                "TwitchDownloader or yt-dlp."
            )
        buf += source.read(CHUNK_BYTES)  # the blocks before "comments" were longer

    n = 0
    for batch in array_elements(source, buf, pos, _TwitchComment, name):
        for comment in batch:
            time_s = check_time(comment.content_offset_seconds, name, n)
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


def read_chat_downloader(
    source: Source, name: str, report: Callable[[int], None]
) -> Iterator[Message]:
    """The chat lines of a chat-downloader JSON array (events and pre-live chat skipped)."""
    buf = source.read(HEAD_BYTES)
    pos = buf.index(b"[") + 1  # detection saw it first
    n, started = 0, False
    for batch in array_elements(source, buf, pos, _CdMessage, name):
        for item in batch:
            if item.message is None and not item.emotes:
                continue  # a membership or system event, not a chat line
            time_s = item.time_in_seconds
            if time_s is not None and time_s < 0 and not started:
                continue  # chat before the stream went live (YouTube premieres and waits)
            time_s = check_time(time_s, name, n)
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


def read_youtube(source: Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    """The messages and Super Chats of yt-dlp's live_chat.json, one JSON action a line."""
    decoder = msgspec.json.Decoder(_YtLine)
    n, started, pending = 0, False, ""
    for number, line in source.lines():
        if not line.strip():
            continue
        if pending:
            raise damaged(name, n)  # a bad line followed by more lines: not a cut-off end
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
                raise no_time(name, n, f"line {number} has no videoOffsetTimeMsec") from None
            if time_s < 0 and not started:
                continue  # chat before the stream went live
            time_s = check_time(time_s, name, n)
            started = True
            body, emotes = _youtube_runs(renderer.message.runs if renderer.message else None)
            author = renderer.author_name.simple_text if renderer.author_name else ""
            n += 1
            yield Message(time_s, author, body, emotes)
        if number % 10_000 == 0:
            report(n)
    if pending:
        raise truncated(name, n)
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

_CSV_TIME = ("time_s", "time", "seconds", "offset_s")
_CSV_TEXT = ("text", "message")


def csv_columns(header: str) -> tuple[int, int, int, int | None] | None:
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


def read_csv(source: Source, name: str, report: Callable[[int], None]) -> Iterator[Message]:
    """The rows of a CSV with a header naming time_s (or time), author, text (emotes)."""
    numbers: list[int] = []

    def lines() -> Iterator[str]:
        for number, line in source.lines():
            numbers.append(number)
            yield line

    rows = csv.reader(lines())
    header = next(rows, None)
    columns = csv_columns(",".join(header)) if header else None
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
        time_s = check_time(time_s, name, n)
        emotes = tuple(row[emotes_at].split()) if emotes_at is not None else ()
        n += 1
        yield Message(time_s, row[author_at].strip(), row[text_at], emotes)
        if n % 10_000 == 0:
            report(n)
    report(n)
