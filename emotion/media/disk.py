"""How much of ``HYPELINE_HOME`` holds media, and making room by removing the least used.

Under ``hypeline_home()`` these are copies, each fetched, uploaded or made again when
needed, so they count against a disk budget::

    downloads/<id>-<hash>/          a finished download
    downloads/.incomplete/<hash>/   a download under way or interrupted
    uploads/<hash>/                 an uploaded file
    previews/<hash>.m4a             a light audio copy for the player
    exports/<analysis id>/          clips cut for download

``library.sqlite`` and ``embeddings/`` are the analyses themselves (the expensive part,
and the reviews people made): they are counted but never removed here. Removing them
is the owner's call, by hand.

``remove_download`` removes one download at once, whatever the budget: a batch that
keeps no media, once each VOD is embedded and exported.

"Last used" is an item's modification time, which ``mark_used`` sets when a source is
opened or a preview served: many disks are mounted without access times (noatime,
relatime), so atime cannot tell.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from emotion.paths import hypeline_home

AREAS = ("downloads", "uploads", "previews", "exports")  # evictable, in display order
KEPT = ("embeddings", "library.sqlite")  # counted, never evicted
INCOMPLETE = ".incomplete"
# An item used this recently may be in use by another visitor's run (a download being
# written, a file being decoded): never evicted, whatever the budget says.
IN_USE_S = 600.0


@dataclass(frozen=True)
class Item:
    """One removable thing: a download's folder, an upload's folder, a preview, an export."""

    path: Path
    area: str
    size_bytes: int
    last_used_s: float  # seconds since the epoch


@dataclass(frozen=True)
class Usage:
    area_bytes: Mapping[str, int]  # per area of AREAS
    kept_bytes: int  # embeddings and the library

    @property
    def media_bytes(self) -> int:
        """What counts against the budget: every area of ``AREAS``."""
        return sum(self.area_bytes.values())


def items(home: Path | None = None) -> list[Item]:
    """Every removable item under ``home``, least recently used first."""
    home = home or hypeline_home()
    found = [_item(path, area) for area, path in _roots(home)]
    return sorted((i for i in found if i is not None), key=lambda i: i.last_used_s)


def usage(home: Path | None = None) -> Usage:
    """Bytes per area, and the bytes of the analyses (never evicted)."""
    home = home or hypeline_home()
    area_bytes = dict.fromkeys(AREAS, 0)
    for item in items(home):
        area_bytes[item.area] += item.size_bytes
    kept = sum(_size(home / name) for name in KEPT)
    kept += sum(_size(p) for p in home.glob(f"{KEPT[1]}-*"))  # SQLite's -wal and -shm
    return Usage(area_bytes, kept)


def mark_used(path: Path, home: Path | None = None) -> None:
    """Record that the item holding ``path`` was just used (no-op outside the areas)."""
    home = home or hypeline_home(create=False)  # opening a file elsewhere writes nothing
    try:
        parts = path.resolve().relative_to(home.resolve()).parts
    except (OSError, RuntimeError, ValueError):
        return
    if len(parts) < 2 or parts[0] not in AREAS:
        return
    depth = 3 if parts[:2] == ("downloads", INCOMPLETE) else 2
    root = home.joinpath(*parts[:depth])
    with contextlib.suppress(OSError):  # a read-only home: the item only looks older
        os.utime(root)


def evict(
    budget_bytes: int,
    home: Path | None = None,
    keep: Collection[Path] = (),
    now_s: float | None = None,
) -> list[Item]:
    """Remove the least recently used items until the areas fit in ``budget_bytes``.

    Items holding a path of ``keep`` and items used in the last ``IN_USE_S`` seconds stay,
    so the budget can be exceeded while they are in use. Returns what was removed.
    """
    home = home or hypeline_home()
    now_s = time.time() if now_s is None else now_s
    kept = [p.resolve() for p in keep]
    everything = items(home)
    total = sum(i.size_bytes for i in everything)
    removed: list[Item] = []
    for item in everything:
        if total <= budget_bytes:
            break
        if now_s - item.last_used_s < IN_USE_S or any(_holds(item.path, p) for p in kept):
            continue
        try:
            if item.path.is_dir():
                shutil.rmtree(item.path)
            else:
                item.path.unlink()
        except OSError:
            continue  # held open on a platform that refuses, or gone meanwhile
        # A download's index entries stay: a later open of the link finds its file
        # missing and downloads it again.
        total -= item.size_bytes
        removed.append(item)
    return removed


def remove_download(path: Path, home: Path | None = None) -> Item | None:
    """Remove the finished download holding ``path`` (a batch keeping no media, once the
    VOD is embedded and exported); what was removed, or None when ``path`` is not a
    download under ``home`` (a user's own file is never ours to remove) or is gone.

    As with ``evict``, the analyses and the download's index entry stay: a later open of
    the link finds the file missing and downloads it again.
    """
    home = home or hypeline_home(create=False)
    try:
        parts = path.resolve().relative_to(home.resolve()).parts
    except (OSError, RuntimeError, ValueError):
        return None
    # downloads/<id>-<hash>/<file>: never the index, a partial download, or a chat replay
    if len(parts) < 3 or parts[0] != "downloads" or parts[1] in ("index", "chat"):
        return None
    if parts[1].startswith("."):  # .incomplete: a download under way
        return None
    item = _item(home.joinpath(*parts[:2]), "downloads")
    if item is None or not item.path.is_dir():
        return None
    try:
        shutil.rmtree(item.path)
    except OSError:
        return None  # held open on a platform that refuses: the budget's eviction can try
    return item


def _roots(home: Path) -> Iterator[tuple[str, Path]]:
    for area in AREAS:
        folder = home / area
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if area == "downloads" and child.name == INCOMPLETE:
                yield from ((area, p) for p in child.iterdir() if p.is_dir())
            elif area == "downloads" and child.name == "index":
                continue  # tiny, and what finds a download again
            elif not child.name.startswith("."):  # dot names are being written right now
                yield area, child


def _item(path: Path, area: str) -> Item | None:
    try:
        last = path.stat().st_mtime
        size = 0
        for file in _files(path):
            st = file.stat()
            size += st.st_size
            last = max(last, st.st_mtime)  # a partial download grows inside its folder
    except OSError:
        return None  # removed meanwhile
    return Item(path, area, size, last)


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for folder, _, names in os.walk(path):
        for name in names:
            yield Path(folder) / name


def _size(path: Path) -> int:
    try:
        return sum(f.stat().st_size for f in _files(path)) if path.exists() else 0
    except OSError:
        return 0


def _holds(item: Path, path: Path) -> bool:
    return path == item.resolve() or path.is_relative_to(item.resolve())
