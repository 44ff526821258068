"""A VOD's chat replay, fetched with yt-dlp beside its media (``analyze --chat auto``).

yt-dlp offers a site's chat as a subtitle track: ``live_chat`` on YouTube (the live chat
replay, one JSON action a line) and ``rechat`` on Twitch VODs (JSON). Only that track is
fetched, never the media again, into ``downloads_dir()/chat/<hash>/``; a replay fetched
before is reused. A site without one is not an error: the caller says so in a note and
judges by sound alone.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from emotion import atomic
from emotion.media.downloads import NETWORK_OPTIONS, YtdlpLog
from emotion.media.source import canonical_url
from emotion.media.ytdlp_errors import explain
from emotion.paths import downloads_dir

CHAT_TRACKS = ("live_chat", "rechat")  # YouTube's replay, Twitch's; in that order


def fetch_chat(url: str, info: dict[str, Any] | None = None) -> Path | None:
    """The chat replay of the VOD at ``url`` as a file, or None when its site offers none.

    ``info`` is yt-dlp's metadata for the link when the caller has it already (not
    fetched again). A failure to fetch is one ``SourceError`` sentence.
    """
    import yt_dlp  # ~0.5 s: only for a link

    folder = downloads_dir() / "chat" / hashlib.sha256(canonical_url(url).encode()).hexdigest()[:16]
    if (known := _finished(folder)) is not None:
        return known
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    options = {
        "quiet": True,
        "no_warnings": True,
        "noplaylist": True,
        "logger": YtdlpLog(),
        "skip_download": True,
        "ignore_no_formats_error": True,
        "writesubtitles": True,
        "subtitleslangs": list(CHAT_TRACKS),
        "outtmpl": {"default": str(partial).replace("%", "%%") + "/chat.%(ext)s"},
        **NETWORK_OPTIONS,
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            try:
                if info is None:
                    info = ydl.extract_info(url, download=False, process=False) or {}
                if not any(track in (info.get("subtitles") or {}) for track in CHAT_TRACKS):
                    return None
                done = ydl.process_ie_result(info, download=True) or {}
            except yt_dlp.utils.YoutubeDLError as e:
                raise explain(e, url) from e
        wanted = done.get("requested_subtitles") or {}
        paths = [
            Path(wanted[t]["filepath"]) for t in CHAT_TRACKS if wanted.get(t, {}).get("filepath")
        ]
        if not paths or not paths[0].is_file():
            return None
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / paths[0].name
        atomic.commit(paths[0], final)  # whole already: one rename into place
        return final
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _finished(folder: Path) -> Path | None:
    files = sorted(folder.glob("chat.*")) if folder.is_dir() else []
    return files[0] if files else None
