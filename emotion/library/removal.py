"""Removing an analysis from the library: its rows, and the folders only it used.

``Store.delete`` runs these under the analysis's lease, the rows in one transaction: the
analysis and every row keyed by it, and its source once no analysis reads that file. Of
the folders, the analysis's exports go, and its download or upload when no other analysis
uses it; the user's own files are never ours to remove.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def delete_rows(db: sqlite3.Connection, analysis_id: int, source_path: Path) -> bool:
    """Delete the analysis with its reviews, trims, gaps and chat, and its source when no
    other analysis reads that file; whether another analysis still does."""
    db.execute("DELETE FROM reviews WHERE analysis_id = ?", (analysis_id,))
    db.execute("DELETE FROM trims WHERE analysis_id = ?", (analysis_id,))
    db.execute("DELETE FROM gaps WHERE analysis_id = ?", (analysis_id,))
    db.execute("DELETE FROM chats WHERE analysis_id = ?", (analysis_id,))
    db.execute("DELETE FROM analyses WHERE id = ?", (analysis_id,))
    (others,) = db.execute(
        "SELECT COUNT(*) FROM analyses a JOIN sources s ON s.id = a.source_id WHERE s.path = ?",
        (str(source_path),),
    ).fetchone()
    if not others:
        db.execute(
            "DELETE FROM sources WHERE path = ? AND id NOT IN (SELECT source_id FROM analyses)",
            (str(source_path),),
        )
    return bool(others)


def media_folder(home: Path, path: Path) -> Path | None:
    """The download or upload folder under the library ``home`` holding ``path``; None for
    the user's own files, which are never ours to remove."""
    try:
        parts = path.resolve().relative_to(home.resolve()).parts
    except (OSError, ValueError):
        return None
    if len(parts) < 3 or parts[0] not in ("downloads", "uploads") or parts[1] == "index":
        return None
    return home.joinpath(*parts[:2])


def remove_folders(*folders: Path | None) -> list[Path]:
    """Delete each folder that exists (None: no folder); the folders removed."""
    removed: list[Path] = []
    for folder in folders:
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
