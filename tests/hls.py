"""A loopback live stream: ffmpeg ``-re`` writes a rolling HLS playlist served on 127.0.0.1.

    with LiveHls(tmp_path, media) as live:
        live.wait_for_segments(1)
        monitor_url = live.url            # http://127.0.0.1:PORT/live.m3u8
        live.down(); ...; live.up()       # the server stops answering, then comes back

The producer writes 2 s segments and keeps the last few in the playlist; when it reaches
the end of the media it writes the end list. The server is ``tests/httpserver``'s, and
``down()`` closes it for real (connections refused), ``up()`` serves again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from emotion.media.audio import ffmpeg_exe
from tests.httpserver import Server, _handler, _QuietServer

PLAYLIST = "live.m3u8"
SEGMENT_S = 2


class LiveHls:
    def __init__(self, root: Path, media: Path, list_size: int = 5, start: bool = True) -> None:
        self.root = root / "hls"
        self.root.mkdir(parents=True, exist_ok=True)
        self.media = media
        self.list_size = list_size
        self.start = start  # False: the producer starts at produce()
        self.port = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.producer: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{PLAYLIST}"

    def __enter__(self) -> LiveHls:
        self.up()
        if self.start:
            self.produce()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.producer is not None and self.producer.poll() is None:
            self.producer.kill()
        if self.producer is not None:
            self.producer.wait()
        self.down()

    def produce(self) -> None:
        """Start (or restart) the producer: media sequence from 0 again."""
        if self.producer is not None and self.producer.poll() is None:
            self.producer.kill()
            self.producer.wait()
        cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-re",
            "-i",
            str(self.media),
            "-vn",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-f",
            "hls",
            "-hls_time",
            str(SEGMENT_S),
            "-hls_list_size",
            str(self.list_size),
            "-hls_flags",
            "delete_segments",
            str(self.root / PLAYLIST),
        ]
        self.producer = subprocess.Popen(cmd)

    def wait_for_segments(self, n: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            playlist = self.root / PLAYLIST
            if playlist.exists() and playlist.read_text().count("#EXTINF") >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"the producer wrote no {n} segment(s) in {timeout_s:.0f} s")

    def up(self) -> None:
        ref: list[Server] = []
        httpd = _DroppableServer(("127.0.0.1", self.port), _handler(self.root, ref))
        self._server = Server(httpd)
        ref.append(self._server)
        self.port = self._server.port
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="test-hls", daemon=True
        )
        self._thread.start()

    def down(self) -> None:
        if self._server is None:
            return
        httpd = self._server.httpd
        httpd.shutdown()
        httpd.server_close()
        assert isinstance(httpd, _DroppableServer)
        httpd.drop_connections()  # keep-alive connections die too, as in a real outage
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None


class _DroppableServer(_QuietServer):
    """Remembers its open connections, so that ``down()`` can cut them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()
