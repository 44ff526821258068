"""A real HTTP server on 127.0.0.1 serving a folder, for tests that must not need internet.

    with serve_folder(tmp_path) as server:
        open_source(server.url("clip.mp4"))
        assert server.requests == [("HEAD", "/clip.mp4"), ("GET", "/clip.mp4"), ...]

Range requests (``bytes=start-end``) get 206 answers, as from a real web server; yt-dlp
sends them when it resumes a ``.part`` file. ``server.cut_after[path] = n`` makes the
server close the connection after ``n`` body bytes of that path, to simulate a dropped
download; ``server.fail_with[path] = 403`` answers that status instead of the file;
``server.redirects[path] = url`` answers 302 to ``url``.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class Server:
    """A running server: its base URL, and what was asked of it."""

    def __init__(self, httpd: http.server.ThreadingHTTPServer) -> None:
        self.httpd = httpd
        host, port = httpd.server_address[:2]
        self.port = int(port)
        self.base_url = f"http://{host!s}:{self.port}"
        self.requests: list[tuple[str, str]] = []  # (method, path), in arrival order
        self.ranges: list[str] = []  # the Range headers received, e.g. "bytes=30720-"
        self.cut_after: dict[str, int] = {}
        self.fail_with: dict[str, int] = {}  # path → HTTP status to answer instead
        self.redirects: dict[str, str] = {}  # path → where a 302 sends the client
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p == "/" + path.lstrip("/"))


def _handler(root: Path, server_ref: list[Server]) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and Content-Length, like a real server

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest output stays readable

        def _record(self) -> None:
            server = server_ref[0]
            with server.lock:
                server.requests.append((self.command, unquote(urlsplit(self.path).path)))
                if self.headers.get("Range"):
                    server.ranges.append(self.headers["Range"])

        def do_GET(self) -> None:
            self._record()
            super().do_GET()

        def do_HEAD(self) -> None:
            self._record()
            super().do_HEAD()

        def send_head(self) -> BinaryIO | None:  # type: ignore[override]
            self._range: tuple[int, int] | None = None
            key = unquote(urlsplit(self.path).path).lstrip("/")
            if (target := server_ref[0].redirects.get(key)) is not None:
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            status = server_ref[0].fail_with.get(key)
            if status is not None:
                self.send_error(status)
                return None
            path = self.translate_path(self.path)
            header = self.headers.get("Range")
            if not header or not os.path.isfile(path):
                return super().send_head()  # type: ignore[return-value]
            m = _RANGE.match(header.strip())
            size = os.path.getsize(path)
            if not m or not (m.group(1) or m.group(2)):
                return super().send_head()  # type: ignore[return-value]
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:  # "bytes=-N": the last N bytes
                start, end = max(0, size - int(m.group(2))), size - 1
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            f = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
            f.seek(start)
            self._range = (start, end)
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            return f  # type: ignore[return-value]

        def end_headers(self) -> None:
            if getattr(self, "_range", None) is None and self.command in ("GET", "HEAD"):
                self.send_header("Accept-Ranges", "bytes")
            super().end_headers()

        def copyfile(self, source: Any, outputfile: Any) -> None:
            server = server_ref[0]
            path = unquote(urlsplit(self.path).path)
            limit = server.cut_after.get(path.lstrip("/"))
            if self._range is not None:
                remaining = self._range[1] - self._range[0] + 1
                limit = remaining if limit is None else min(limit, remaining)
            if limit is None:
                shutil.copyfileobj(source, outputfile)
                return
            while limit > 0 and (chunk := source.read(min(64 * 1024, limit))):
                outputfile.write(chunk)
                limit -= len(chunk)
            if path.lstrip("/") in server.cut_after:
                self.close_connection = True  # the "network" drops mid-body
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is normal here; no traceback on stderr


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[Server]:
    """Serve ``root`` on 127.0.0.1 at a free port, in a daemon thread, until the block ends."""
    ref: list[Server] = []
    httpd = _QuietServer(("127.0.0.1", 0), _handler(root, ref))
    server = Server(httpd)
    ref.append(server)
    thread = threading.Thread(
        target=httpd.serve_forever, args=(0.05,), name="test-http", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
