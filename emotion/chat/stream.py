"""A chat file read as a stream: the ``Message`` every reader yields, and the byte-level
reading the readers share.

JSON arrays are cut into batches of whole elements (``array_elements``) and each batch is
decoded by msgspec into small typed structs that skip the fields we do not use. On a 1
M-message TwitchDownloader file (550 MB) ijson took 16 s and json.loads per comment 13 s
on a 2-core machine; msgspec batches take ~4 s (bench/bench_chat.py). Bytes are decoded as
UTF-8 with errors replaced (a BOM is dropped), so a file with a stray Latin-1 byte still
reads and emoji survive. A damaged or cut-off file is refused with one of the sentences
here (``truncated``, ``damaged``, ``no_time``), saying after how many messages.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec

from emotion.errors import ChatError

HEAD_BYTES = 64 * 1024  # what detection reads
CHUNK_BYTES = 4 * 1024 * 1024  # what one batch of a JSON array decodes from
MAX_ELEMENT_BYTES = 64 * 1024 * 1024  # one message larger than this is not chat


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: when in the VOD, who, what, and the emotes it holds (in order)."""

    time_s: float
    author: str
    text: str
    emotes: tuple[str, ...] = ()


# -- bytes → text ----------------------------------------------------------------------


def open_chat(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes; a ``ChatError`` saying what to do if it cannot be."""
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


class Source:
    """A chat file's bytes, read in pieces, a leading BOM dropped, the bytes read counted.

    JSON stays bytes (msgspec decodes UTF-8 itself, and a cut is always at an ASCII
    ``}``); where text is needed it is decoded with ``surrogateescape`` (``as_text``), so
    that a character index maps back to the exact byte (``byte_len``).
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


def as_text(data: bytes) -> str:
    """``data`` as text whose characters map back to its bytes (``byte_len``)."""
    return data.decode("utf-8", errors="surrogateescape")


def byte_len(text: str) -> int:
    """How many bytes of the file ``text`` (from ``as_text``) came from."""
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


# -- JSON text -------------------------------------------------------------------------


def looks_truncated(text: str, start: int) -> bool:
    """Whether the JSON value at ``start`` runs past the end of ``text``."""
    try:
        json.JSONDecoder().raw_decode(text, start)
    except ValueError as error:
        return ends_inside(error, text)
    return False


def ends_inside(error: ValueError, text: str) -> bool:
    """Whether a JSON error is the text running out rather than a wrong character."""
    pos = getattr(error, "pos", 0)
    message = str(error)
    return message.startswith("Unterminated string") or skip_ws(text, pos) >= len(text)


def object_keys(text: str, start: int) -> Iterator[tuple[str, int]]:
    """``(key, index of its value)`` of a JSON object's members, up to where the text ends.

    The caller stops consuming at the key it wants; the values before it are decoded to
    step over them (a TwitchDownloader file's "streamer" and "video" are small).
    """
    decoder = json.JSONDecoder()
    pos = skip_ws(text, start + 1)
    try:
        while pos < len(text) and text[pos] == '"':
            key, pos = decoder.raw_decode(text, pos)
            pos = skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ":":
                return
            pos = skip_ws(text, pos + 1)
            yield key, pos
            _, pos = decoder.raw_decode(text, pos)
            pos = skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ",":
                return
            pos = skip_ws(text, pos + 1)
    except ValueError:
        return


_WS = re.compile(r"\s*")


def skip_ws(text: str, pos: int) -> int:
    """The index of the first character at or after ``pos`` that is not white space."""
    match = _WS.match(text, pos)
    return match.end() if match else pos


# -- errors ----------------------------------------------------------------------------


def truncated(name: str, n_messages: int) -> ChatError:
    """The refusal of a file cut off after ``n_messages``."""
    return ChatError(
        f"{name} ends in the middle of its JSON after {n_messages:,} messages (the download "
        "was cut off); download the chat again."
    )


def damaged(name: str, n_messages: int) -> ChatError:
    """The refusal of a file whose JSON is broken after ``n_messages``."""
    return ChatError(
        f"{name} is damaged after {n_messages:,} messages (not valid JSON there); download "
        "the chat again."
    )


def _negative(name: str, time_s: float) -> ChatError:
    return ChatError(
        f"{name} has a message at {time_s:g} s, before the VOD starts, so its times are not "
        "offsets into this VOD; download the chat of the VOD again."
    )


def no_time(name: str, n_messages: int, detail: str) -> ChatError:
    """The refusal of a message without a usable time after ``n_messages``."""
    return ChatError(
        f"{name} has a message without a usable time after {n_messages:,} messages "
        f"({detail.rstrip('.')}); download the chat again."
    )


def check_time(time_s: float | None, name: str, n: int) -> float:
    """A message's time in seconds into the VOD; a ``ChatError`` if it has none or is < 0."""
    if time_s is None:
        raise no_time(name, n, "no offset")
    if time_s < 0:
        raise _negative(name, time_s)
    return float(time_s)


# -- JSON arrays in batches ------------------------------------------------------------

T = TypeVar("T")
_WS_BYTES = re.compile(rb"[ \t\r\n]*")


def array_elements(
    source: Source, buf: bytes, pos: int, element_type: type[T], name: str
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
            raise truncated(name, n)
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
            raise no_time(name, n, str(error)) from None
        except msgspec.DecodeError:
            raise damaged(name, n) from None
        n += 1
        yield [element]
        pos = _WS_BYTES.match(buf, end).end()  # type: ignore[union-attr]
        if buf[pos : pos + 1] == b",":
            pos += 1
        elif buf[pos : pos + 1] == b"]":
            return
        elif pos < len(buf):
            raise damaged(name, n)
        elif source.eof:
            raise truncated(name, n)


def _element_end(buf: bytes, pos: int, at_eof: bool, name: str, n: int) -> int:
    """The byte just past the JSON value at ``buf[pos]``."""
    for span in (64 * 1024, len(buf)):
        text = as_text(buf[pos : pos + span])
        try:
            return pos + byte_len(text[: json.JSONDecoder().raw_decode(text)[1]])
        except ValueError as error:
            if pos + span < len(buf) and ends_inside(error, text):
                continue  # a value longer than the first span
            if at_eof and ends_inside(error, text):
                raise truncated(name, n) from None
            raise damaged(name, n) from None
    raise damaged(name, n)


_SCALAR = rb'(?:"(?:[^"\\]|\\.)*"|[-+.\w]+)'


def _boundary_pattern(buf: bytes, pos: int) -> re.Pattern[bytes] | None:
    """A pattern that matches ``}, {"first key": scalar, "second key":`` between elements."""
    text = as_text(buf[pos : pos + 64 * 1024])
    keys = []
    for key, value_at in object_keys(text, 0):
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
