"""A real ``python -m emotion serve`` on a free 127.0.0.1 port, for tests of the process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import TINY_CLAP

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """``with ApiServer(home, *args) as server: httpx.get(server.url + "/healthz")``."""

    def __init__(self, home: Path, *args: str, port: int | None = None) -> None:
        self.home, self.args = home, args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90) -> ApiServer:
        env = {**os.environ, "HYPELINE_HOME": str(self.home), "PYTHONPATH": str(REPO)}
        env.pop("HYPELINE_API_KEY", None)
        log = open(self.home.parent / f"{self.home.name}-server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emotion",
                "serve",
                "--port",
                str(self.port),
                "--model",
                str(TINY_CLAP),
                "--device",
                "cpu",
                "--log-level",
                "warning",
                *self.args,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer within {timeout_s:.0f} s")

    def kill(self) -> None:
        """``kill -9``: no shutdown handler runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
