"""Asking for a run from the page: a link or a file, an upload, a chat replay, an audio
track, or a past analysis from the library list; each queues a ``ui.job.Run``.

In shared mode a ``SourcePolicy`` bounds what a visitor's text may open (and probe), and
uploads have a cap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from emotion.chat.formats import detect_format
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.media import disk, uploads
from emotion.media.audio import AudioTrack, probe
from emotion.media.media_roots import resolve_under
from emotion.media.source import SourcePolicy
from emotion.progress import Progress
from ui import model
from ui.job import FAILURE_KEY, Run, size_text
from ui.sidebar import Settings

CHAT_TYPES = ["json", "jsonl", "csv", "txt"]
_VIDEO_TYPES = ["mp4", "mkv", "mov", "webm", "flv", "ts", "m4v", "avi", "wmv", "mpg", "mpeg"]
_AUDIO_TYPES = ["m4a", "mp3", "wav", "ogg", "opus", "flac", "aac", "wma"]
MEDIA_TYPES = _VIDEO_TYPES + _AUDIO_TYPES
MB = 1024 * 1024  # Streamlit's megabyte, as in server.maxUploadSize


def chat_picker(key: str) -> UploadedFile | None:
    """An optional chat replay to judge the VOD's moments by as well."""
    return st.file_uploader(
        "Chat replay (optional)",
        type=CHAT_TYPES,
        key=key,
        help="TwitchDownloader JSON, yt-dlp's rechat or live_chat JSON, chat-downloader JSON, "
        "or a CSV time_s,author,text: each highlight gets chat's reaction and is ranked by it.",
    )


def start(
    spec: str | Path,
    settings: Settings,
    audio_track: int | None = None,
    chat: UploadedFile | None = None,
) -> None:
    """Queue a run of ``spec`` with the sidebar's model, if everything it needs is there."""
    if not str(spec).strip():
        st.warning("Paste the link of a VOD (or the path of a file) first, then press Analyze.")
    elif settings.problem:
        st.error(settings.problem)
    elif not settings.model:
        st.error("Pick a model in the sidebar first.")
    elif model.error(settings.model) is not None:
        # The frame (dashboard.py) shows why above every page: said once, pointed at here.
        st.error(
            "Analyze needs the model: fix it as the message at the top says, then press "
            "Analyze again."
        )
    elif chat is None:
        st.session_state.job = Run(spec, settings.model, audio_track=audio_track)
    else:
        try:  # saved and recognised before any decoding: a wrong file is said at once
            path = uploads.save_upload(chat, chat.name, chat.size)
            detect_format(path)
        except HypelineError as e:
            st.error(str(e))
            return
        st.session_state.job = Run(
            spec,
            settings.model,
            audio_track=audio_track,
            chat=path,
            chat_keywords=settings.chat_keywords,
        )


def start_upload(
    upload: UploadedFile, settings: Settings, cap_mb: int, chat: UploadedFile | None = None
) -> None:
    """Save an upload to disk and queue its run, unless it is over ``cap_mb`` megabytes."""
    if upload.size > cap_mb * MB:
        st.error(
            f"{upload.name} is {size_text(upload.size)}, over this server's upload limit of "
            f"{cap_mb} MB; upload a shorter cut, or ask whoever runs it for a media folder."
        )
        return
    try:
        path = save_upload(upload)
    except HypelineError as e:
        st.error(str(e))
        return
    start(path, settings, chat=chat)


def save_upload(upload: UploadedFile) -> Path:
    """Copy an upload to the library's uploads folder, with a progress bar.

    Streamlit has already held the whole upload in memory by now (it offers no way to
    stream one to disk); the copy is chunked so that it is not held twice.
    """
    name = Path(upload.name).name or "upload"
    bar = st.progress(0.0, text=f"Saving {name}…")
    try:

        def show(p: Progress) -> None:
            bar.progress(p.fraction or 0.0, text=p.message)

        return uploads.save_upload(upload, name, upload.size, show)
    finally:
        bar.empty()


def library(store: Store, visible: Callable[[Path], bool] | None = None) -> Run | None:
    """The past analyses: open one (no model work) or resume an incomplete one.

    ``visible`` (shared mode) leaves out those whose file a visitor may not open, such as
    the owner's own files analysed from the command line.
    """
    records = {r.id: r for r in store.analyses() if visible is None or visible(r.source.path)}
    if not records:
        st.caption("Nothing analysed yet. Every analysis lands here and opens instantly.")
        return None
    picked = st.selectbox(
        "Past analyses", list(records), format_func=lambda i: describe(records[i]), key="library"
    )
    record = records[picked]
    # A live analysis still growing is opened as it stands (the Live page follows it, and
    # its audio is not a file yet); a stopped one is complete like a VOD's.
    if record.complete or record.kind == "live":
        if st.button("Open", key="library_open", type="primary"):
            st.session_state.analysis_id = record.id
            st.session_state.pop(FAILURE_KEY, None)  # opened on purpose: shown again
        return None
    if st.button("Resume", key="library_resume", type="primary"):
        return Run.of(record)
    return None


def disk_usage(home: Path, budget_bytes: int | None) -> None:
    """One line: the media copies against the budget, and the analyses (never evicted)."""
    usage = disk.usage(home)
    parts = " · ".join(f"{a} {size_text(n)}" for a, n in usage.area_bytes.items() if n)
    budget = (
        f" of a {size_text(budget_bytes)} budget (the least recently used go first when full)"
        if budget_bytes
        else ""
    )
    st.caption(
        f":material/hard_drive: Media on disk: {size_text(usage.media_bytes)}"
        f"{f' ({parts})' if parts else ''}{budget}; analyses: {size_text(usage.kept_bytes)}, "
        "never removed automatically."
    )


def describe(record: AnalysisRecord) -> str:
    """One line of the library list."""
    line = f"{record.title} · {summary(record)}"
    if record.complete:
        return line
    if record.kind == "live":
        return line + " · live, still running (or its monitor was stopped abruptly)"
    length = record.source.duration_s
    done = record.n_done * record.hop_s / length if length else None
    return line + (f" · incomplete ({done:.0%}) — resume" if done else " · incomplete — resume")


def summary(record: AnalysisRecord) -> str:
    """Length, track and model, e.g. ``1:30 · track 2 · clap-htsat-fused``."""
    length = record.duration_s or record.source.duration_s
    track = f"track {record.audio_track}" if record.audio_track != 1 else ""
    parts = (clock(length) if length else "", track, Path(record.model).name)
    return " · ".join(p for p in parts if p)


@st.cache_data(show_spinner=False, max_entries=64)
def _tracks(path: str, size: int, mtime_ns: int) -> tuple[AudioTrack, ...]:
    try:
        return probe(Path(path)).audio_tracks
    except HypelineError:
        return ()


def audio_tracks(spec: str | Path, policy: SourcePolicy | None = None) -> tuple[AudioTrack, ...]:
    """The audio tracks of a local media file (none for a link, or a path that is not a file).

    With a ``policy``, only of a file inside its media folders: a probe elsewhere would
    tell a visitor which files exist on the server.
    """
    text = str(spec).strip().strip("\"'")
    if policy is not None:
        try:
            path = resolve_under(text, policy.media_folders) if text else Path()
        except HypelineError:
            return ()
    else:
        path = Path(text).expanduser()
    try:
        if not path.is_file():
            return ()
        st_ = path.stat()
    except OSError:
        return ()
    return _tracks(str(path), st_.st_size, st_.st_mtime_ns)


def track_picker(
    tracks: tuple[AudioTrack, ...], key: str, current: int | None = None, label: str = "Audio track"
) -> int | None:
    """A choice of audio track when a file has several (OBS: game, mic, music…), else None."""
    if len(tracks) < 2:
        return None
    numbers = [t.number for t in tracks]
    default = current if current in numbers else next((t.number for t in tracks if t.default), 1)
    described = {t.number: t.describe() for t in tracks}
    picked: int = st.selectbox(
        label,
        numbers,
        index=numbers.index(default),
        key=key,
        format_func=lambda n: described[n],
        help="Each track is its own analysis: pick the one whose sound you want to search.",
    )
    return picked
