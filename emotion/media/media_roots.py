"""Paths from someone else, allowed only inside the folders a server shares.

In the dashboard's shared mode a visitor may type the path of a file on the server; it
opens only when it really is inside one of the configured media folders: ``..`` is
refused outright, and a symlink is followed before the check, so one that points out of
the folders is refused too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emotion.errors import SourceError


class OutsideMediaFoldersError(SourceError):
    """A path is not inside the folders this server shares."""


def resolve_under(path: str | Path, roots: Sequence[Path], what: str = "the media folders") -> Path:
    """The real path of ``path`` when it lies inside one of ``roots``; refused otherwise.

    A relative path is looked up in each root in turn (the first that has it wins). The
    result has every symlink resolved, so what is checked is what gets opened.
    """
    if not roots:
        raise OutsideMediaFoldersError(
            "This server opens no files by path; upload the file or paste a link instead."
        )
    given = Path(str(path).strip().strip("\"'"))
    shown = ", ".join(str(r) for r in roots)
    if ".." in given.parts:
        raise OutsideMediaFoldersError(
            f"Paths with .. are not opened here; give the file's path inside {what} ({shown})."
        )
    candidates = [given] if given.is_absolute() else [root / given for root in roots]
    inside: list[Path] = []
    for candidate in candidates:
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
            continue
        if any(real.is_relative_to(_real(root)) for root in roots):
            if real.exists():
                return real
            inside.append(real)
    if inside:
        return inside[0]  # not there: opening it says "File not found" with this path
    raise OutsideMediaFoldersError(
        f"{given} is outside {what} this server shares ({shown}); put the file in one of "
        "them, or upload it."
    )


def is_under(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path``, symlinks resolved, lies inside one of ``roots``."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return False
    return any(real.is_relative_to(_real(root)) for root in roots)


def _real(root: Path) -> Path:
    try:
        return root.resolve()
    except (OSError, RuntimeError):
        return root
