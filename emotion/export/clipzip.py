"""What a page hands out for download, kept in ``<home>/exports/<analysis id>/``: the clips
of a set of highlights as one zip, and vertical shorts rendered one by one (and zipped).

Keyed by the source and the highlights' spans (a short by its settings too), so the same
choice is cut or rendered once; a new choice (a Keep ticked, a threshold moved, a trim, a
layout) is a new file. Each appears whole or not at all, and all of it is under the disk
budget (``emotion.media.disk``: the analysis's folder is one item, removed with it).
The HTTP API's posts render into a folder there per choice and settings (``posts_dir``),
zipped with their folders' names (``zip_files``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from emotion import atomic
from emotion.analysis import Analysis
from emotion.errors import Cancelled, ExportError
from emotion.export import write_exports
from emotion.export.clips import LABEL_SLUG_CHARS, slugify
from emotion.export.post_settings import MIN_SHORT_S, ShortSettings
from emotion.export.shorts import write_shorts
from emotion.export.timefmt import slug_time
from emotion.media import disk
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight

EXPORTS_DIR = "exports"  # under the library's home; removed with its analysis
SHORTS_DIR = "shorts"  # exports/<analysis id>/shorts/: the page's rendered shorts


def zip_path(analysis: Analysis, home: Path) -> Path:
    """Where the zip of ``analysis``'s highlights' clips lives (whether made yet or not)."""
    spans = "|".join(f"{h.label}@{h.start_s:.3f}-{h.end_s:.3f}" for h in analysis.highlights)
    digest = hashlib.sha256(f"{analysis.source.path}|{spans}".encode()).hexdigest()[:12]
    return home / EXPORTS_DIR / str(analysis.analysis_id) / f"clips-{digest}.zip"


def made(analysis: Analysis, home: Path) -> Path | None:
    """The zip, if it was made already (marked as just used for the disk budget)."""
    return _used(zip_path(analysis, home), home)


def make(analysis: Analysis, home: Path, progress: ProgressFn | None = None) -> Path:
    """Cut one clip per highlight and zip them (all or nothing); the zip."""
    path = zip_path(analysis, home)
    try:
        with tempfile.TemporaryDirectory(prefix="hypeline-clips-") as tmp:
            clips = write_exports(analysis, Path(tmp), [], clips=True, progress=progress)
            _zip(clips, path)
    except OSError as e:
        raise _write_error(path, e) from e
    return path


# --------------------------------------------------------------------------- the shorts


def short_path(
    analysis: Analysis, highlight: Highlight, settings: ShortSettings, home: Path
) -> Path:
    """Where the short of one highlight, rendered with ``settings``, lives (made or not):
    ``shorts/<label>-<h-mm-ss>-<digest>.mp4``, the digest of the source, span and settings."""
    h = highlight
    key = f"{analysis.source.path}|{analysis.audio_track}|{h.label}@{h.start_s:.3f}-{h.end_s:.3f}"
    digest = hashlib.sha256(f"{key}|{settings!r}".encode()).hexdigest()[:10]
    name = f"{slugify(h.label, LABEL_SLUG_CHARS, 'short')}-{slug_time(h.start_s)}-{digest}.mp4"
    return home / EXPORTS_DIR / str(analysis.analysis_id) / SHORTS_DIR / name


def made_short(
    analysis: Analysis, highlight: Highlight, settings: ShortSettings, home: Path
) -> Path | None:
    """The short of this highlight with these settings, if it was rendered already."""
    return _used(short_path(analysis, highlight, settings, home), home)


def render_shorts(
    analysis: Analysis,
    highlights: Sequence[Highlight],
    settings: ShortSettings,
    home: Path,
    progress: ProgressFn | None = None,
    *,
    cancel: threading.Event | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Path]:
    """Render the short of each highlight (``emotion.export.shorts``) into the library's
    exports folder, one after another; one rendered already is kept. The paths, in order.

    Each is rendered beside its final name and renamed when whole, so a cancel or a kill
    leaves no part of a short; ``cancel`` is looked at before each short (one being
    rendered finishes), then ``Cancelled`` says what was kept. The progress has an ETA
    once a short is done: the seconds rendered so far, per second of short, for the rest.
    """
    settings = settings.check()
    outs = [short_path(analysis, h, settings, home) for h in highlights]
    lengths = [min(max(h.end_s - h.start_s, MIN_SHORT_S), settings.max_s) for h in highlights]
    todo = [i for i, out in enumerate(outs) if not out.is_file()]
    left_s = sum(lengths[i] for i in todo)
    done_s = spent_s = 0.0

    def report(n_done: int, eta_s: float | None) -> None:
        if progress is not None:
            fraction = n_done / len(todo) if todo else 1.0
            progress(Progress("shorts", fraction, f"{n_done}/{len(todo)} shorts", eta_s))

    report(0, None)
    folder = home / EXPORTS_DIR / str(analysis.analysis_id) / SHORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # One render of the folder at a time; what a killed one left half-made is swept first.
    with atomic.sole_writer(folder, what="shorts"):
        for n, i in enumerate(todo):
            if cancel is not None and cancel.is_set():
                raise Cancelled(
                    f"Rendering stopped after {n} of {len(todo)} shorts; those are kept, and "
                    "rendering again makes only the rest."
                )
            began = time.monotonic()
            _render_one(analysis, highlights[i], settings, outs[i], on_note)
            disk.mark_used(outs[i], home)
            spent_s += time.monotonic() - began
            done_s += lengths[i]
            left_s -= lengths[i]
            report(n + 1, spent_s / done_s * left_s if done_s else None)
    return outs


def _render_one(
    analysis: Analysis,
    highlight: Highlight,
    settings: ShortSettings,
    out: Path,
    on_note: Callable[[str], None] | None,
) -> None:
    """One short into ``out``: rendered in a hidden folder beside it (``atomic.temp_beside``'s
    name, so a killed render's is swept), then renamed into place."""
    work = atomic.temp_beside(out)
    try:
        work.mkdir()
        (rendered,) = write_shorts(
            analysis.source,
            [highlight],
            work,
            settings,
            audio_track=analysis.audio_track,
            on_note=on_note,
        )
        os.replace(rendered, out)  # one file system: one atomic rename
    except OSError as e:
        raise _write_error(out, e) from e
    finally:
        atomic.discard(work)


def shorts_zip(paths: Sequence[Path], analysis: Analysis, home: Path) -> Path:
    """The rendered shorts ``paths`` in one zip beside them (made once per set of shorts)."""
    digest = hashlib.sha256("|".join(p.name for p in paths).encode()).hexdigest()[:12]
    path = home / EXPORTS_DIR / str(analysis.analysis_id) / f"shorts-{digest}.zip"
    if (found := _used(path, home)) is not None:
        return found
    width = max(2, len(str(len(paths))))
    names = [f"{str(i).zfill(width)}-{short_name(p)}" for i, p in enumerate(paths, 1)]
    try:
        _zip(paths, path, names)
    except OSError as e:
        raise _write_error(path, e) from e
    return path


def short_name(path: Path) -> str:
    """A rendered short's name for its viewer: ``<label>-<h-mm-ss>.mp4``, without the digest."""
    return f"{path.stem.rsplit('-', 1)[0]}{path.suffix}"


def _zip(files: Sequence[Path], path: Path, names: Sequence[str] | None = None) -> None:
    with (
        atomic.replacing(path) as partial,
        zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as z,  # media is compressed
    ):
        for file, name in zip(files, names or [f.name for f in files], strict=True):
            z.write(file, name)


def _used(path: Path, home: Path) -> Path | None:
    if not path.is_file():
        return None
    disk.mark_used(path, home)
    return path


def _write_error(path: Path, e: OSError) -> ExportError:
    return ExportError(
        f"Could not write {path.name} in {path.parent} ({e.strerror or e}); free some space "
        "and try again."
    )


# ---------------------------------------------------------------------- the API's posts


def posts_dir(analysis: Analysis, home: Path, *settings: object) -> Path:
    """The folder the posts (shorts, reel, thumbnails: ``pipeline_export.export``) of ``analysis``'s
    highlights made with ``settings`` go to, made or not: ``exports/<id>/posts-<digest>/``,
    the digest of the source, the spans and the settings' ``repr``, so asking again
    renders only what is missing."""
    spans = "|".join(f"{h.label}@{h.start_s:.3f}-{h.end_s:.3f}" for h in analysis.highlights)
    key = f"{analysis.source.path}|{analysis.audio_track}|{spans}|{'|'.join(map(repr, settings))}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return home / EXPORTS_DIR / str(analysis.analysis_id) / f"posts-{digest}"


def zip_files(files: Sequence[Path], folder: Path, path: Path) -> Path:
    """``files`` (inside ``folder``) as one zip at ``path``, each named by its path in
    ``folder`` (``shorts/01-….mp4``); all or nothing (a killed zipping's half zip is swept
    by the next). The zip's path."""
    try:
        with atomic.sole_writer(path.parent, (path.name,), what=path.name):
            _zip(files, path, [f.relative_to(folder).as_posix() for f in files])
    except OSError as e:
        raise _write_error(path, e) from e
    return path
