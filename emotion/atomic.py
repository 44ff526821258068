"""Atomic writes: a file (or folder) appears whole under its final name, or not at all.

Every writer builds under a hidden temporary name beside the final one (the same folder,
so one file system and one atomic rename) and renames it into place when it is complete;
a failure removes the temporary. Readers never see half a file, and no half-written file
is ever left under a final name.

A writer killed outright (``kill -9``, a power cut) cannot remove its temporary, so one
may stay behind: hidden, and named ``.<final name>.<8 hex>.tmp<suffix>`` so it is known
for what it is (``final_of``). A long writer (the shorts, the reel, the thumbnails) works
under ``sole_writer``: one writer per folder at a time (``emotion.lease``), which first
sweeps away the temporaries dead writers left there; a live writer's are never touched,
because a live writer holds the lease.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from emotion import lease
from emotion.errors import BusyError

# temp_beside's names: the final name, a random token, ".tmp" and the kept extension.
_TEMPORARY = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{8}\.tmp(?:\.[^.]*)?$")


def temp_beside(final: Path, suffix: str = "") -> Path:
    """A hidden, unique name next to ``final``; ``suffix`` keeps an extension tools read."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp{suffix}")


def commit(tmp: Path, final: Path) -> None:
    """Put ``tmp`` in place of ``final`` in one rename (a folder replaces a folder whole)."""
    if tmp.is_dir() and final.exists():
        old = temp_beside(final)
        os.replace(final, old)
        os.replace(tmp, final)
        discard(old)
    else:
        os.replace(tmp, final)


def discard(tmp: Path) -> None:
    """Remove a temporary file or folder, if it is there."""
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextmanager
def replacing(final: Path, suffix: str = "") -> Iterator[Path]:
    """Write to the yielded path; it becomes ``final`` when the block ends without error."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(final, suffix)
    try:
        yield tmp
    except BaseException:
        discard(tmp)
        raise
    commit(tmp, final)


def write_text(final: Path, text: str) -> None:
    """``final.write_text(text)`` (UTF-8), atomically."""
    with replacing(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def final_of(path: Path) -> str | None:
    """The final name ``path`` is a temporary of (``temp_beside``'s naming), else None."""
    found = _TEMPORARY.match(path.name)
    return found["final"] if found else None


def sweep(folder: Path, names: Collection[str] | None = None) -> list[Path]:
    """Remove the temporaries writers that died left in ``folder`` (only those of ``names``
    when given); the paths removed. Call it holding ``sole_writer``: a live writer's
    temporary would go too."""
    try:
        children = list(folder.iterdir())
    except OSError:  # no folder yet: nothing was left in it
        return []
    stale = [
        p
        for p in children
        if (final := final_of(p)) is not None and (names is None or final in names)
    ]
    for path in stale:
        discard(path)
    return stale


@contextmanager
def sole_writer(
    folder: Path, names: Collection[str] | None = None, what: str = "files"
) -> Iterator[list[Path]]:
    """Be the one writer of ``folder`` (of its ``names`` only, when given) for the block,
    after sweeping the temporaries dead writers left there; yields what was swept.

    The lease's file lives in the system's temporary folder, keyed by the folder's real
    path, so nothing but the files written appears in ``folder``. Another live writer of
    the same folder is a ``BusyError``.
    """
    key = f"{os.path.realpath(folder)}|{','.join(sorted(names or ()))}"
    held = lease.try_acquire(_locks() / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.lock")
    if held is None:
        raise BusyError(
            f"Another render is writing {what} into {folder} right now; wait for it to "
            "finish, then run this again."
        )
    with held:
        yield sweep(folder, names)


def _locks() -> Path:
    """The folder of the writers' lease files: per user, in the system's temporary folder."""
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    folder = Path(tempfile.gettempdir()) / f"hypeline-writers{user}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder
