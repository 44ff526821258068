"""Downloads: the video behind an http(s) link, fetched with yt-dlp and kept for reuse.

On disk, under ``downloads_dir()``::

    index/<sha256(canonical url)>.json   one small file per known link (race-free)
    <id>-<hash>/<title> [<id>].<ext>     a finished download
    .incomplete/<hash>/                  where yt-dlp writes; resumed after an interruption

A download counts as finished only once its file has been moved out of
``.incomplete`` and its index entry written, so an interrupted download is never taken
for a complete one. ``sources.open_source`` is the way in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emotion import atomic
from emotion.errors import SourceError
from emotion.lease import Lease, try_acquire
from emotion.media.audio import MediaInfo, ffmpeg_exe
from emotion.media.local_files import probe_audio
from emotion.media.netguard import check_public_url, public_only
from emotion.media.source import Source, SourcePolicy, SourceProgress, canonical_url
from emotion.media.ytdlp_errors import explain, no_media, playlist
from emotion.paths import downloads_dir, hypeline_home
from emotion.progress import Progress, ProgressFn

log = logging.getLogger(__name__)

# yt-dlp's network patience. Tests lower these so a failure is quick.
NETWORK_OPTIONS: dict[str, Any] = {
    "socket_timeout": 30,
    "retries": 10,
    "fragment_retries": 10,
    "extractor_retries": 3,
}
DOWNLOAD_WAIT_POLL_S = 0.5  # how often a caller waiting for another's download looks again


def open_url(url: str, progress: ProgressFn | None, policy: SourcePolicy | None = None) -> Source:
    """The file behind ``url``: the one fetched before, else downloaded now (see above)."""
    canon = canonical_url(url)
    if policy is not None:
        # Before the library lookup too: a private link stays refused even when its video
        # was fetched earlier by someone allowed to.
        check_public_url(url, policy.resolve, policy.reachable)
    if (known := _lookup(canon)) is not None:
        return known  # no network at all for a link we have already fetched

    import yt_dlp  # imported here: it takes ~0.5 s and local files never need it

    downloads = downloads_dir()
    guard = public_only(policy.reachable) if policy is not None else contextlib.nullcontext()
    held = contextlib.ExitStack()  # the download's lease, once its key is known
    with held:  # released once the file is in place and remembered
        with guard, yt_dlp.YoutubeDL(_ydl_options(downloads, progress, policy is not None)) as ydl:
            try:
                raw = ydl.extract_info(url, download=False, process=False)
            except yt_dlp.utils.YoutubeDLError as e:
                raise explain(e, url) from e
            if not raw:
                raise no_media(url)
            if raw.get("_type") in ("playlist", "multi_video"):
                raise playlist(url)
            _refuse_live(raw, url)

            # yt-dlp's webpage_url is its canonical form (youtu.be/x → youtube.com/watch?v=x):
            # a second spelling of a link we have downloaded is found here, before any download.
            page_url = raw.get("webpage_url") or url
            page_canon = canonical_url(page_url)
            if page_canon != canon and (known := _lookup(page_canon)) is not None:
                if (entry := _read_entry(page_canon)) is not None:
                    _remember(canon, entry)
                return known

            key = _hash(page_canon)[:16]
            partial_dir = downloads / ".incomplete" / key
            partial_dir.mkdir(parents=True, exist_ok=True)
            # One download per link at a time: a second caller waits for the first, then
            # opens its file, instead of writing into the same partial files.
            held.enter_context(_download_lease(partial_dir.with_suffix(".lock"), progress))
            if (known := _lookup(page_canon)) is not None:
                return known
            folder = str(partial_dir).replace("%", "%%")  # a literal % in HYPELINE_HOME
            ydl.params["outtmpl"]["default"] = f"{folder}/%(title).80B [%(id).40B].%(ext)s"
            try:
                info = ydl.process_ie_result(raw, download=True)
            except yt_dlp.utils.YoutubeDLError as e:
                raise explain(e, url) from e

        if not info or info.get("_type") in ("playlist", "multi_video"):
            raise playlist(url)
        done = [
            Path(d["filepath"]) for d in info.get("requested_downloads") or [] if d.get("filepath")
        ]
        if not done or not done[-1].is_file():
            raise no_media(url)

        final_dir = downloads / f"{_safe_name(str(info.get('id') or 'video'))}-{key}"
        final_dir.mkdir(parents=True, exist_ok=True)
        final_path = final_dir / done[-1].name
        atomic.commit(done[-1], final_path)  # complete already: one rename into place
        shutil.rmtree(partial_dir, ignore_errors=True)

        media = probe_audio(final_path)
        entry = {
            "url": page_canon,
            "webpage_url": page_url,
            "path": final_path.relative_to(downloads).as_posix(),
            "size_bytes": final_path.stat().st_size,
            "title": str(info.get("title") or final_path.stem),
            "uploader": info.get("uploader") or info.get("channel"),
            "duration_s": _float(info.get("duration")) or media.duration_s,
            "id": info.get("id"),
            "extractor": info.get("extractor_key") or info.get("extractor"),
            "published": _published(info),
        }
        for link in {page_canon, canon}:
            _remember(link, entry)
        return _source_from_entry(final_path, entry, media)


def probe(url: str, **options: Any) -> dict[str, Any]:
    """yt-dlp's metadata for a link, nothing downloaded (``{}`` when it has none); failures
    are one ``SourceError`` sentence. The live monitor resolves streams with it."""
    import yt_dlp  # ~0.5 s: only when a link is opened (see fetch)

    settings = {
        "quiet": True,
        "no_warnings": True,
        "noplaylist": True,
        "logger": YtdlpLog(),
        **NETWORK_OPTIONS,
        **options,
    }
    with yt_dlp.YoutubeDL(settings) as ydl:
        try:
            info = ydl.extract_info(url, download=False)
        except yt_dlp.utils.YoutubeDLError as e:
            raise explain(e, url) from e
    return dict(info or {})


def _download_lease(path: Path, progress: ProgressFn | None) -> Lease:
    """The right to download into one partial folder, waiting while another caller has it."""
    waiting = False
    while (lease := try_acquire(path)) is None:
        if progress is not None and not waiting:  # raising here cancels the wait
            progress(Progress("download", None, "another process is downloading this link"))
        waiting = True
        time.sleep(DOWNLOAD_WAIT_POLL_S)
    return lease


def _ydl_options(
    downloads: Path, progress: ProgressFn | None, guarded: bool = False
) -> dict[str, Any]:
    guard: dict[str, Any] = {
        # public_only() watches this thread only, and ffmpeg would fetch outside it:
        # HLS with yt-dlp's own downloader, fragments one at a time on this thread.
        "hls_prefer_native": True,
        "concurrent_fragment_downloads": 1,
    }
    return {
        "format": "bestaudio/best",
        "outtmpl": {"default": "%(id)s.%(ext)s"},  # set per download, once the id is known
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "no_color": True,
        "logger": YtdlpLog(),
        "progress_hooks": [_ProgressHook(progress)] if progress else [],
        "match_filter": _match_filter,
        # HLS fix-ups and merges need ffmpeg; this finds the imageio-ffmpeg one too.
        "ffmpeg_location": ffmpeg_exe(),
        "cachedir": str(hypeline_home() / "yt-dlp"),
        "windowsfilenames": True,
        "updatetime": False,  # the file's mtime is when we fetched it, not the server's date
        **NETWORK_OPTIONS,
        **(guard if guarded else {}),
    }


class YtdlpLog:
    """Takes yt-dlp's messages off the console; they go to our logger at debug level."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)  # raised to us as DownloadError, explained there


class _ProgressHook:
    """yt-dlp's progress dicts → ``SourceProgress``, with a fraction that never goes back."""

    def __init__(self, callback: ProgressFn) -> None:
        self.callback = callback
        self.fraction = 0.0

    def __call__(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        if status not in ("downloading", "finished"):
            return
        done = _int(d.get("downloaded_bytes"))
        total = _int(d.get("total_bytes")) or _int(d.get("total_bytes_estimate"))
        if status == "finished":
            fraction: float | None = 1.0
            total = total or done
        elif total:
            fraction = min(1.0, (done or 0) / total)
        else:
            fraction = None
        if fraction is not None:
            self.fraction = fraction = max(self.fraction, fraction)
        speed = _float(d.get("speed"))
        self.callback(
            SourceProgress(
                stage="download",
                fraction=fraction,
                message=_describe(done, total, speed if status == "downloading" else None),
                eta_s=_float(d.get("eta")),
                downloaded_bytes=done,
                total_bytes=total,
                speed_bps=speed,
            )
        )


def _describe(done: int | None, total: int | None, speed_bps: float | None) -> str:
    """A caption for a progress bar, e.g. ``12.3 of 50.0 MB, 2.1 MB/s``."""
    mb = 1e6
    text = (
        f"{(done or 0) / mb:.1f} of {total / mb:.1f} MB" if total else f"{(done or 0) / mb:.1f} MB"
    )
    return f"{text}, {speed_bps / mb:.1f} MB/s" if speed_bps else text


def _match_filter(info: dict[str, Any], incomplete: bool = False) -> str | None:
    # Runs before each download; raising stops yt-dlp before it writes anything.
    if info.get("playlist_index") is not None:
        raise playlist(str(info.get("webpage_url") or info.get("original_url") or "that link"))
    _refuse_live(info, str(info.get("webpage_url") or "that link"))
    return None


def _refuse_live(info: dict[str, Any], url: str) -> None:
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise SourceError(
            f"{url} is a live stream; wait until it ends and open the VOD it leaves behind."
        )


# --- the index of finished downloads -------------------------------------------------


def _index_file(canon: str) -> Path:
    return downloads_dir() / "index" / f"{_hash(canon)}.json"


def _read_entry(canon: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(_index_file(canon).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("path"), str) else None


def _lookup(canon: str) -> Source | None:
    """The finished download for ``canon``, or None if unknown, moved, or not complete."""
    entry = _read_entry(canon)
    if entry is None:
        return None
    path = downloads_dir() / entry["path"]
    try:
        if not path.is_file() or path.stat().st_size != entry.get("size_bytes"):
            return None
        media = probe_audio(path)
    except (OSError, SourceError):
        return None  # damaged or replaced: fetch it again
    return _source_from_entry(path, entry, media)


def _remember(canon: str, entry: dict[str, Any]) -> None:
    index = _index_file(canon)
    # atomic: readers see the old entry or the new, never half
    atomic.write_text(index, json.dumps(entry, indent=2, ensure_ascii=False))


def _source_from_entry(path: Path, entry: dict[str, Any], media: MediaInfo) -> Source:
    return Source(
        path=path,
        title=str(entry.get("title") or path.stem),
        duration_s=_float(entry.get("duration_s")) or media.duration_s,
        url=entry.get("webpage_url") or entry.get("url"),
        uploader=entry.get("uploader"),
        has_video=media.has_video,
        fps=media.fps,
        audio_tracks=media.audio_tracks,
        default_track=media.default_track,
        published=_float(entry.get("published")),
    )


def _published(info: dict[str, Any]) -> float | None:
    """When the stream aired: yt-dlp's timestamp, else its upload_date (YYYYMMDD, UTC)."""
    for key in ("release_timestamp", "timestamp"):
        if (t := _float(info.get(key))) is not None:
            return t
    date = str(info.get("upload_date") or "")
    try:
        return datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


# --- small helpers -------------------------------------------------------------------


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "video"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None
