"""Where Hypeline keeps what it makes: downloads, caches, analyses.

One folder, ``$HYPELINE_HOME`` when set, else the platform's user cache folder (for
example ``~/.cache/hypeline`` on Linux). Folders are created when first asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from emotion.errors import HypelineError

HOME_ENV = "HYPELINE_HOME"


def hypeline_home(create: bool = True) -> Path:
    """The folder Hypeline writes to: ``$HYPELINE_HOME``, else the user cache folder.

    ``create=False`` only names it (for looking, not writing).
    """
    configured = os.environ.get(HOME_ENV, "").strip()
    home = (
        Path(configured).expanduser()
        if configured
        else Path(platformdirs.user_cache_dir("hypeline"))
    )
    return _ensure_dir(home) if create else home


def downloads_dir() -> Path:
    """Where downloaded VODs go (``<home>/downloads``)."""
    return _ensure_dir(hypeline_home() / "downloads")


def uploads_dir() -> Path:
    """Where the dashboard saves uploaded files (``<home>/uploads``)."""
    return _ensure_dir(hypeline_home() / "uploads")


def _ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HypelineError(
            f"Cannot create the folder {path} ({e.strerror or e}); "
            f"set {HOME_ENV} to a folder you can write to."
        ) from e
    return path
