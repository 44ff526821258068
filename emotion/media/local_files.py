"""Local media files: the checks before one opens, and its identity (a content hash).

``sources.open_source`` opens a path through ``check_file``; ``file_identity`` is the
``source_identity`` of a local file (``emotion/sources.py`` says how it is computed).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from emotion.errors import SourceError
from emotion.media.audio import MediaInfo, probe

# Files larger than this are identified by a sampled hash (see ``sources.source_identity``).
FULL_HASH_MAX_BYTES = 256 * 1024 * 1024
HASH_CHUNK_BYTES = 1024 * 1024
SAMPLED_EDGE_BYTES = 16 * 1024 * 1024  # hashed in full at the start and at the end
SAMPLED_MIDDLE_COUNT = 64  # 1 MiB samples spread evenly between the edges


def check_file(path: Path, looks_like_link: bool = False) -> MediaInfo:
    """What a local media file holds, once it is there, a file, readable and with sound."""
    if not path.exists():
        hint = (
            " If it is a link, start it with https://."
            if looks_like_link
            else " Check the path and try again."
        )
        raise SourceError(f"File not found: {path}.{hint}")
    if path.is_dir():
        raise SourceError(f"{path} is a folder; give the path of a video or audio file.")
    if not path.is_file():
        raise SourceError(f"{path} is not a regular file; give the path of a video or audio file.")
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as e:
        raise SourceError(
            f"Cannot read {path} ({e.strerror or e}); check that the file is yours to read."
        ) from e
    return probe_audio(path)


def probe_audio(path: Path) -> MediaInfo:
    """``probe(path)``, refusing a file without an audio track."""
    info = probe(path)
    if not info.has_audio:
        raise SourceError(f"{path.name} has no audio track; pick a file with sound.")
    return info


def looks_like_host(text: str) -> bool:
    # "www.twitch.tv/videos/1" pasted without a scheme: say so rather than "file not found".
    first = text.split("/", 1)[0]
    return "/" in text and "." in first and not first.startswith(".") and " " not in first


_digest_cache: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def file_identity(path: Path) -> str:
    """``sha256:<hex>``, or ``sha256-sampled:<hex>`` past FULL_HASH_MAX_BYTES (see sources)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digest_cache:
            return _digest_cache[key]
    digest = _file_digest(path, st.st_size)
    with _digest_lock:
        _digest_cache[key] = digest
    return digest


def _file_digest(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        if size <= FULL_HASH_MAX_BYTES:
            while chunk := f.read(HASH_CHUNK_BYTES):
                h.update(chunk)
            return "sha256:" + h.hexdigest()
        h.update(size.to_bytes(8, "little"))
        for offset, length in _sample_ranges(size):
            f.seek(offset)
            remaining = length
            while remaining > 0 and (chunk := f.read(min(HASH_CHUNK_BYTES, remaining))):
                h.update(chunk)
                remaining -= len(chunk)
    return "sha256-sampled:" + h.hexdigest()


def _sample_ranges(size: int) -> Iterator[tuple[int, int]]:
    yield 0, SAMPLED_EDGE_BYTES
    middle_start, middle_end = SAMPLED_EDGE_BYTES, size - SAMPLED_EDGE_BYTES
    step = (middle_end - middle_start) / (SAMPLED_MIDDLE_COUNT + 1)
    for i in range(1, SAMPLED_MIDDLE_COUNT + 1):
        start = middle_start + int(i * step)
        yield start, min(HASH_CHUNK_BYTES, middle_end - start)
    yield size - SAMPLED_EDGE_BYTES, SAMPLED_EDGE_BYTES
