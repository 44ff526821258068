"""Files handed over by a face (a dashboard upload), kept in ``<home>/uploads/``.

One folder per content (the first 16 hex digits of its SHA-256), so the same file
uploaded twice is one copy and one analysis.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from emotion import atomic
from emotion.errors import HypelineError
from emotion.paths import uploads_dir
from emotion.progress import Progress, ProgressFn

CHUNK_BYTES = 8 * 1024 * 1024


def save_upload(
    data: BinaryIO, name: str, size_bytes: int, progress: ProgressFn | None = None
) -> Path:
    """Copy ``data`` to ``<home>/uploads/<digest>/<name>`` in chunks; the saved file.

    Written beside its final name and renamed into place, so a failure leaves nothing.
    """
    uploads = uploads_dir()
    name = Path(name).name or "upload"
    incoming = atomic.temp_beside(uploads / name)  # its folder is named by its content, later
    digest = hashlib.sha256()
    try:
        uploads.mkdir(parents=True, exist_ok=True)
        data.seek(0)
        with open(incoming, "wb") as f:
            while chunk := data.read(CHUNK_BYTES):
                f.write(chunk)
                digest.update(chunk)
                if progress is not None:
                    done = min(1.0, f.tell() / max(size_bytes, 1))
                    progress(Progress("upload", done, f"Saving {name}…"))
        final = uploads / digest.hexdigest()[:16] / name
        final.parent.mkdir(exist_ok=True)
        atomic.commit(incoming, final)
    except OSError as e:
        raise HypelineError(
            f"Could not save the upload in {uploads} ({e.strerror or e}); free some space or "
            "set HYPELINE_HOME to a folder on a bigger disk."
        ) from e
    finally:
        atomic.discard(incoming)
    return final
