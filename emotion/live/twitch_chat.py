"""A Twitch channel's chat, read live and read-only over IRC, as messages with their arrival.

Twitch lets anyone read a channel's chat anonymously: ``NICK justinfan<digits>`` (the
``PASS`` is ignored; ``SCHMOOPIIE`` is the customary one), ``CAP REQ :twitch.tv/tags`` for
the emotes of each message, then ``JOIN #channel``. Nothing is ever sent to the channel.

``TwitchChat.events()`` yields a ``ChatMessage`` per ``PRIVMSG`` (``received``: its
``time.monotonic()``, the clock of ``Pcm.received``) and a ``ChatState`` when the
connection changes, as ``Ingest.events()`` does for the audio: the connection is
supervised, not trusted. ``PING`` is answered; a connection silent for ``idle_ping_s`` is
asked with a ``PING`` of our own and given up after ``pong_timeout_s`` more; a drop, a
refused connection or Twitch's ``RECONNECT`` starts a new one after a backoff (1, 2, 4 …
``MAX_BACKOFF_S``), at most ``max_retries`` times in a row before giving up.

The endpoint is Twitch's TLS port unless ``HYPELINE_TWITCH_IRC`` names another
(``host:port`` or ``irc://host:port`` in plain TCP, ``ircs://host:port`` over TLS): the
tests point it at a server of their own on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from emotion.errors import HypelineError

DEFAULT_HOST, DEFAULT_PORT = "irc.chat.twitch.tv", 6697
ENDPOINT_ENV = "HYPELINE_TWITCH_IRC"
CONNECT_TIMEOUT_S = 10.0
POLL_S = 0.5  # how often a blocked read looks at the stop flag
IDLE_PING_S = 60.0  # Twitch PINGs every ~5 min; we ask sooner, so a dead link shows in ~80 s
PONG_TIMEOUT_S = 20.0
MAX_BACKOFF_S = 30.0
MAX_RETRIES = 8  # failed connections in a row (~2 min of backoff) before giving up
MAX_LINE_BYTES = 64 * 1024  # Twitch's lines are under 8 KiB with tags; longer is not IRC
# Twitch's logins are 4–25 letters, digits or underscores; a few first path segments of
# twitch.tv are pages, not channels.
_CHANNEL = re.compile(r"[a-z0-9_]{2,25}")
_NOT_CHANNELS = frozenset(
    {
        "directory",
        "videos",
        "settings",
        "subscriptions",
        "inventory",
        "wallet",
        "drops",
        "downloads",
        "search",
        "p",
        "jobs",
        "turbo",
        "prime",
        "messages",
        "friends",
        "moderator",
    }
)
_TWITCH_HOSTS = frozenset({"twitch.tv", "www.twitch.tv", "m.twitch.tv", "go.twitch.tv"})
_TAG_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}

# States of the chat connection (the words of emotion.live.ingest's states).
CONNECTING, CONNECTED, RECONNECTING, GAVE_UP = "connecting", "connected", "reconnecting", "gave up"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the IRC server is, and whether it speaks TLS."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls: bool = True

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``host:port`` or ``irc://host:port`` (plain TCP), ``ircs://host:port`` (TLS)."""
        spec = text.strip()
        parts = urlsplit(spec if "://" in spec else f"irc://{spec}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("irc", "ircs") or not parts.hostname or port is None:
            raise HypelineError(
                f"{ENDPOINT_ENV}={text!r} is not an IRC address; give host:port, or "
                "ircs://host:port for TLS."
            )
        return cls(parts.hostname, port, parts.scheme == "ircs")

    @classmethod
    def from_env(cls) -> Endpoint:
        """``HYPELINE_TWITCH_IRC`` when set, else Twitch's own (TLS, port 6697)."""
        text = os.environ.get(ENDPOINT_ENV, "").strip()
        return cls.parse(text) if text else cls()

    def __str__(self) -> str:
        return f"{'ircs' if self.tls else 'irc'}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message as it arrived: ``received`` is ``time.monotonic()`` when it was read."""

    received: float
    author: str
    text: str
    emotes: tuple[str, ...] = ()  # Twitch's emotes in the text, in order (from the tags)


@dataclass(frozen=True, slots=True)
class ChatState:
    state: str  # CONNECTING | CONNECTED | RECONNECTING | GAVE_UP
    message: str


ChatEvent = ChatMessage | ChatState


@dataclass(frozen=True, slots=True)
class IrcLine:
    """One IRC line, split (IRCv3 tags unescaped)."""

    tags: dict[str, str]
    prefix: str
    command: str
    params: tuple[str, ...]


def check_channel(name: str) -> str:
    """A Twitch channel's login, lowercased (a leading ``#`` dropped); a sentence if it is not one."""
    channel = name.strip().lstrip("#").lower()
    if not _CHANNEL.fullmatch(channel):
        raise HypelineError(
            f"{name!r} is not a Twitch channel name (letters, digits and _ only); "
            "give the name as it is in the channel's link."
        )
    return channel


def channel_of(source: str) -> str | None:
    """The channel of a ``twitch.tv/<channel>`` link, None for any other source."""
    spec = source.strip()
    parts = urlsplit(spec if "://" in spec else f"https://{spec}")
    if (parts.hostname or "").lower() not in _TWITCH_HOSTS:
        return None
    first = parts.path.strip("/").split("/")[0].lower()
    if first in _NOT_CHANNELS or not _CHANNEL.fullmatch(first):
        return None
    return first


def parse_line(line: str) -> IrcLine:
    """Split one IRC line (no CR LF) into tags, prefix, command and parameters."""
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            key, _, value = item.partition("=")
            if key:
                tags[key] = _unescape_tag(value)
        rest = rest.lstrip(" ")
    prefix = ""
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    head, sep, trailing = rest.partition(" :")
    words = head.split()
    command = words[0].upper() if words else ""
    params = [*words[1:], trailing] if sep else words[1:]
    return IrcLine(tags, prefix, command, tuple(params))


def privmsg(line: IrcLine, received: float) -> ChatMessage | None:
    """The chat message of a ``PRIVMSG`` line (None for any other line)."""
    if line.command != "PRIVMSG" or len(line.params) < 2:
        return None
    text = line.params[1]
    if text.startswith("\x01ACTION ") and text.endswith("\x01"):  # /me
        text = text[len("\x01ACTION ") : -1]
    author = line.tags.get("display-name") or line.prefix.split("!", 1)[0]
    return ChatMessage(received, author, text, _emotes(line.tags.get("emotes", ""), text))


def _emotes(tag: str, text: str) -> tuple[str, ...]:
    """Emote names from the ``emotes`` tag (``25:0-4,12-16/1902:6-10``), in text order.

    The positions count code points, as Python's ``str`` does (an emoji is one); a range
    past the text's end (Twitch sends some, twitchdev/issues#104) is skipped.
    """
    found: list[tuple[int, str]] = []
    for emote in filter(None, tag.split("/")):
        _, _, ranges = emote.partition(":")
        for span in ranges.split(","):
            first, _, last = span.partition("-")
            if not (first.isdigit() and last.isdigit()):
                continue
            start, end = int(first), int(last) + 1
            if start < end <= len(text):
                found.append((start, text[start:end]))
    return tuple(name for _, name in sorted(found))


def _unescape_tag(value: str) -> str:
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(_TAG_ESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
            continue
        if c != "\\":  # a lone trailing backslash is dropped (IRCv3)
            out.append(c)
        i += 1
    return "".join(out)


class _Dropped(Exception):
    """The connection ended; ``str()`` says why."""


class TwitchChat:
    """One channel's chat, read live (see the module's docstring)."""

    def __init__(
        self,
        channel: str,
        endpoint: Endpoint | None = None,
        stop: threading.Event | None = None,
        *,
        max_retries: int = MAX_RETRIES,
        first_backoff_s: float = 1.0,
        idle_ping_s: float = IDLE_PING_S,
        pong_timeout_s: float = PONG_TIMEOUT_S,
    ) -> None:
        self.channel = check_channel(channel)
        self.endpoint = endpoint or Endpoint.from_env()
        self.stop = stop or threading.Event()
        self.max_retries = max_retries
        self.first_backoff_s = first_backoff_s
        self.idle_ping_s = idle_ping_s
        self.pong_timeout_s = pong_timeout_s
        self.nick = f"justinfan{random.randint(10_000, 99_999)}"  # anonymous, read-only
        self.connections = 0  # connections that joined the channel

    def events(self) -> Iterator[ChatEvent]:
        """Messages and state changes until ``stop`` is set or the retries are spent."""
        failures = 0
        yield ChatState(CONNECTING, f"connecting to #{self.channel} at {self.endpoint}")
        while not self.stop.is_set():
            why = ""
            joined = False
            try:
                for event in self._session():
                    if isinstance(event, ChatState):
                        joined, failures = True, 0
                    yield event
            except _Dropped as e:
                why = str(e)
            except (OSError, ssl.SSLError) as e:
                why = _why(e, self.endpoint)
            if self.stop.is_set():
                return
            if not joined:
                failures += 1
            if failures > self.max_retries:
                yield ChatState(
                    GAVE_UP, f"gave up on #{self.channel} after {failures} tries ({why})"
                )
                return
            delay = (
                0.0
                if why == "the server asked us to reconnect"
                else (min(MAX_BACKOFF_S, self.first_backoff_s * 2.0 ** max(0, failures - 1)))
            )
            yield ChatState(RECONNECTING, f"reconnecting to #{self.channel} in {delay:g} s ({why})")
            if self.stop.wait(delay):
                return

    def _session(self) -> Iterator[ChatEvent]:
        """One connection: log in, join, read until it drops (``_Dropped``) or ``stop``."""
        with contextlib.closing(self._connect()) as sock:
            sock.settimeout(POLL_S)
            send = _sender(sock)
            send("CAP REQ :twitch.tv/tags")
            send("PASS SCHMOOPIIE")
            send(f"NICK {self.nick}")
            send(f"JOIN #{self.channel}")
            buffer = b""
            last_heard = time.monotonic()
            asked_at: float | None = None
            joined = False
            while not self.stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    now = time.monotonic()
                    if asked_at is not None and now - asked_at >= self.pong_timeout_s:
                        raise _Dropped(f"no answer for {now - last_heard:.0f} s") from None
                    if asked_at is None and now - last_heard >= self.idle_ping_s:
                        send("PING :tmi.twitch.tv")
                        asked_at = now
                    continue
                if not data:
                    raise _Dropped("the server closed the connection")
                received = time.monotonic()
                last_heard, asked_at = received, None
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                if len(buffer) > MAX_LINE_BYTES:
                    raise _Dropped("the server sent a line too long to be IRC")
                for raw in lines:
                    line = parse_line(raw.rstrip(b"\r").decode("utf-8", "replace"))
                    if line.command == "PING":
                        send("PONG :" + (line.params[-1] if line.params else "tmi.twitch.tv"))
                    elif line.command == "PRIVMSG":
                        message = privmsg(line, received)
                        if message is not None:
                            yield message
                    elif not joined and _is_join(line, self.nick, self.channel):
                        joined = True
                        self.connections += 1
                        yield ChatState(CONNECTED, f"reading #{self.channel}")
                    elif line.command == "RECONNECT":
                        raise _Dropped("the server asked us to reconnect")
                    elif line.command == "NOTICE" and not joined:
                        raise _Dropped(line.params[-1] if line.params else "refused")

    def _connect(self) -> socket.socket:
        e = self.endpoint
        sock = socket.create_connection((e.host, e.port), timeout=CONNECT_TIMEOUT_S)
        if not e.tls:
            return sock
        try:
            return ssl.create_default_context().wrap_socket(sock, server_hostname=e.host)
        except BaseException:
            sock.close()
            raise


def _is_join(line: IrcLine, nick: str, channel: str) -> bool:
    """Our own JOIN echoed, or the end of the channel's names list: we are in."""
    if line.command == "JOIN":
        return line.prefix.split("!", 1)[0].lower() == nick and line.params[:1] == (f"#{channel}",)
    return line.command == "366" and f"#{channel}" in line.params


def _sender(sock: socket.socket) -> Callable[[str], None]:
    def send(line: str) -> None:
        sock.sendall(line.encode("utf-8") + b"\r\n")

    return send


def _why(error: OSError, endpoint: Endpoint) -> str:
    if isinstance(error, ConnectionRefusedError):
        return f"{endpoint.host}:{endpoint.port} refused the connection"
    if isinstance(error, socket.gaierror):
        return f"{endpoint.host} could not be found"
    if isinstance(error, TimeoutError):
        return f"{endpoint.host}:{endpoint.port} did not answer"
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake with {endpoint.host} failed ({error.reason or error})"
    return f"the connection failed ({error.strerror or error})"
