"""The clips of a set of highlights as one zip, kept in ``<home>/exports/<analysis id>/``.

Keyed by the source and the highlights' spans, so the same choice is cut once; a new
choice (a Keep ticked, a threshold moved) is a new zip. Under the disk budget.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

from emotion import atomic
from emotion.analysis import Analysis
from emotion.errors import ExportError
from emotion.export import write_exports
from emotion.media import disk
from emotion.progress import ProgressFn

EXPORTS_DIR = "exports"  # under the library's home; removed with its analysis


def zip_path(analysis: Analysis, home: Path) -> Path:
    """Where the zip of ``analysis``'s highlights' clips lives (whether made yet or not)."""
    spans = "|".join(f"{h.label}@{h.start_s:.3f}-{h.end_s:.3f}" for h in analysis.highlights)
    digest = hashlib.sha256(f"{analysis.source.path}|{spans}".encode()).hexdigest()[:12]
    return home / EXPORTS_DIR / str(analysis.analysis_id) / f"clips-{digest}.zip"


def made(analysis: Analysis, home: Path) -> Path | None:
    """The zip, if it was made already (marked as just used for the disk budget)."""
    path = zip_path(analysis, home)
    if not path.is_file():
        return None
    disk.mark_used(path, home)
    return path


def make(analysis: Analysis, home: Path, progress: ProgressFn | None = None) -> Path:
    """Cut one clip per highlight and zip them (all or nothing); the zip."""
    path = zip_path(analysis, home)
    try:
        with tempfile.TemporaryDirectory(prefix="hypeline-clips-") as tmp:
            clips = write_exports(analysis, Path(tmp), [], clips=True, progress=progress)
            with (
                atomic.replacing(path) as partial,
                zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as z,  # media is compressed
            ):
                for clip in clips:
                    z.write(clip, clip.name)
    except OSError as e:
        raise ExportError(
            f"Could not write the clips in {path.parent} ({e.strerror or e}); free some space "
            "and try again."
        ) from e
    return path
