"""Atomic writes: a file (or folder) appears whole under its final name, or not at all.

Every writer builds under a hidden temporary name beside the final one (the same folder,
so one file system and one atomic rename) and renames it into place when it is complete;
a failure removes the temporary. Readers never see half a file, and no half-written file
is ever left under a final name.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
