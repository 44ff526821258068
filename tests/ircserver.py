"""A tiny IRC server on 127.0.0.1 that speaks Twitch's chat dialect, so no test reaches Twitch.

    with IrcServer() as irc:
        monkeypatch.setenv("HYPELINE_TWITCH_IRC", irc.address)
        irc.wait_for_join("somechannel")
        irc.say("somechannel", "KEKW", author="viewer1")
        irc.drop()  # every connection cut: the client must come back

Each connection's lines are kept in ``Connection.lines`` in arrival order. The server
answers what Twitch answers to an anonymous reader: the CAP ACK, 001 after NICK, the JOIN
echo and the end of the names list; ``ping()`` sends a PING, whose PONG is recorded.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

TIMEOUT_S = 10.0  # a wait in a test fails after this


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lines: list[str] = []
        self.nick = ""
        self.channels: set[str] = set()
        self.closed = False
        self._lock = threading.Lock()

    def send(self, line: str) -> None:
        with self._lock, contextlib.suppress(OSError):
            self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class IrcServer:
    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.changed = threading.Condition()
        self._ids = itertools.count(1)
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._serve(self.request)

        class Tcp(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._tcp = Tcp(("127.0.0.1", 0), Handler)
        self.port = int(self._tcp.server_address[1])
        self.address = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> IrcServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.drop()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._thread.join(timeout=TIMEOUT_S)

    # --- what a test does -------------------------------------------------------------

    def joined(self, channel: str) -> list[Connection]:
        """The open connections that joined ``#channel``."""
        with self.changed:
            return [c for c in self.connections if not c.closed and channel in c.channels]

    def wait_for(
        self, condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the IRC server saw no {what} within {timeout_s:g} s")
                self.changed.wait(min(left, 0.1))

    def wait_for_join(self, channel: str, count: int = 1, timeout_s: float = TIMEOUT_S) -> None:
        """Until ``count`` connections in all have joined ``#channel``."""
        self.wait_for(
            lambda: sum(channel in c.channels for c in self.connections) >= count,
            f"JOIN #{channel} number {count}",
            timeout_s,
        )

    def say(self, channel: str, text: str, author: str = "viewer", emotes: str = "") -> int:
        """A PRIVMSG from ``author`` to everyone in ``#channel``; how many got it."""
        login = author.lower()
        tags = (
            f"@badge-info=;badges=;color=#1E90FF;display-name={author};emotes={emotes};"
            f"id=m{next(self._ids)};mod=0;tmi-sent-ts={int(time.time() * 1000)};user-type="
        )
        line = f"{tags} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"
        return self.send_raw(channel, line)

    def send_raw(self, channel: str, line: str) -> int:
        targets = self.joined(channel)
        for c in targets:
            c.send(line)
        return len(targets)

    def ping(self, token: str = "tmi.twitch.tv") -> None:
        with self.changed:
            targets = [c for c in self.connections if not c.closed]
        for c in targets:
            c.send(f"PING :{token}")

    def drop(self) -> None:
        """Cut every open connection, as a server restart does."""
        with self.changed:
            targets = [c for c in self.connections if not c.closed]
        for c in targets:
            c.close()

    # --- the server's side ------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        conn = Connection(sock)
        with self.changed:
            self.connections.append(conn)
            self.changed.notify_all()
        sock.settimeout(TIMEOUT_S * 6)  # a client that says nothing is let go, eventually
        buffer = b""
        try:
            while not conn.closed:
                data = sock.recv(4096)
                if not data:
                    break
                buffer += data
                *lines, buffer = buffer.split(b"\r\n")
                for raw in lines:
                    self._answer(conn, raw.decode("utf-8"))
        except OSError:
            pass
        finally:
            conn.closed = True
            with self.changed:
                self.changed.notify_all()
            with contextlib.suppress(OSError):
                sock.close()

    def _answer(self, conn: Connection, line: str) -> None:
        with self.changed:
            conn.lines.append(line)
            self.changed.notify_all()
        command, _, rest = line.partition(" ")
        if command == "CAP":
            conn.send(":tmi.twitch.tv CAP * ACK :twitch.tv/tags")
        elif command == "NICK":
            conn.nick = rest.strip()
            conn.send(f":tmi.twitch.tv 001 {conn.nick} :Welcome, GLHF!")
        elif command == "JOIN":
            channel = rest.strip().lstrip("#")
            n = conn.nick
            conn.send(f":{n}!{n}@{n}.tmi.twitch.tv JOIN #{channel}")
            conn.send(f":{n}.tmi.twitch.tv 353 {n} = #{channel} :{n}")
            conn.send(f":{n}.tmi.twitch.tv 366 {n} #{channel} :End of /NAMES list")
            with self.changed:
                conn.channels.add(channel)
                self.changed.notify_all()
