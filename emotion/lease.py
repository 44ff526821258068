"""One writer per analysis: an exclusive OS lock on a file, gone when its holder is gone.

Whoever embeds an analysis holds its lease (``embeddings/<id>.lock``) for the whole run.
The lock is the operating system's, taken without blocking:

* POSIX (Linux, macOS): ``flock(LOCK_EX | LOCK_NB)``. It belongs to the open file, so
  two opens of the lock file exclude each other even inside one process (two dashboard
  sessions are two threads of one server).
* Windows: ``msvcrt.locking(LK_NBLCK)`` on the file's first byte, per handle likewise.

The kernel drops the lock when the last descriptor of that open file closes, which
process death does, ``kill -9`` and power loss included; so a crashed holder cannot keep
a lease and no heartbeat or expiry is needed. Python opens files non-inheritable, so the
ffmpeg a holder starts does not keep its lock alive after the holder dies.

Besides the OS lock, leases held by this process are kept in a set: on a network file
system ``flock`` may be emulated with per-process locks, and the set keeps threads of
one process apart there too. Lock files are never deleted: deleting one while another
process waits on it would let two holders lock two different files.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

_held: set[str] = set()
_held_guard = threading.Lock()


class Lease:
    """An exclusive hold on ``path``; released by ``release()``, leaving the ``with``, or death."""

    def __init__(self, path: Path, fd: int, key: str):
        self.path = path
        self._fd: int | None = fd
        self._key = key

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)
            with _held_guard:
                _held.discard(self._key)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_acquire(path: Path) -> Lease | None:
    """The lease on ``path`` (the file is created if missing), or None when someone holds it."""
    key = os.path.normcase(os.path.abspath(path))
    with _held_guard:
        if key in _held:
            return None
        _held.add(key)
    fd, locked = -1, False
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        locked = _lock(fd)
    finally:
        if not locked:
            if fd >= 0:
                os.close(fd)
            with _held_guard:
                _held.discard(key)
    return Lease(path, fd, key) if locked else None


if sys.platform == "win32":

    def _lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
