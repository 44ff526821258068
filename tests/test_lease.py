"""The lease: one holder at a time, across threads and processes, gone when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emotion.lease import try_acquire

REPO = Path(__file__).resolve().parents[1]
# Takes the lease on argv[1], starts a long `sleep` child (as a holder starts ffmpeg),
# says so, and waits to be killed.
HOLDER = """
import subprocess, sys, time
from pathlib import Path
from emotion.lease import try_acquire
lease = try_acquire(Path(sys.argv[1]))
child = subprocess.Popen(["sleep", "60"])
print("held" if lease else "busy", child.pid, flush=True)
time.sleep(60)
"""


def test_one_holder_at_a_time_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "1.lock"
    first = try_acquire(path)
    assert first is not None and first.held
    assert try_acquire(path) is None
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(try_acquire(path)))
    thread.start()
    thread.join(timeout=5)
    assert got == [None]  # another thread (a second dashboard session) is refused too
    first.release()
    assert not first.held
    first.release()  # twice is harmless
    with try_acquire(path) as again:  # type: ignore[union-attr]
        assert again.held and try_acquire(path) is None
    assert not again.held
    assert try_acquire(tmp_path / "2.lock") is not None  # other analyses are independent
    assert path.exists()  # lock files stay: see emotion/lease.py


@pytest.mark.skipif(sys.platform == "win32", reason="uses kill -9 and sleep")
def test_another_process_is_refused_until_the_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "1.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    child_pid = None
    try:
        assert holder.stdout is not None
        state, child = holder.stdout.readline().split()
        child_pid = int(child)
        assert state == "held"
        assert try_acquire(path) is None
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        # The holder's child outlives it and still has its stdio, but not the lock file:
        # it was not inherited, so the lease is free at once.
        os.kill(child_pid, 0)
        deadline = time.monotonic() + 5
        while (lease := try_acquire(path)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lease is not None
        lease.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if child_pid is not None:
            os.kill(child_pid, signal.SIGKILL)
