"""Getting a VOD into the library from the page: uploads, the library list, and the run.

A run (download, then decode + embed) happens in the page script under ``st.status``.
Every finished batch is in the store, so a run that is stopped (the Stop button, a
browser reload, any widget touched meanwhile) loses nothing: the next run of the same
source resumes. While ``st.session_state.job`` is set, each script run carries the job on,
so touching the sidebar during a run only costs a restart from the last batch.

When another session or process is already analysing the same VOD, the run follows that
one's progress instead of writing (``embed_source`` holds one writer per analysis), and
takes over from its last batch if it dies.

In shared mode a ``SourcePolicy`` bounds what a visitor's text may open, uploads have a
cap, and the media copies in ``HYPELINE_HOME`` a disk budget (``emotion.media.disk``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.elements.lib.mutable_status_container import StatusContainer
from streamlit.runtime.uploaded_file_manager import UploadedFile

from emotion import pipeline
from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.chat.formats import detect_format
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import AnalysisRecord, Store
from emotion.media import disk, uploads
from emotion.media.audio import AudioTrack, probe
from emotion.media.media_roots import resolve_under
from emotion.media.source import SourcePolicy
from emotion.progress import Progress
from emotion.scoring.keywords import DEFAULT_KEYWORDS
from ui import model
from ui.sidebar import Settings

CHAT_TYPES = ["json", "jsonl", "csv", "txt"]
MEDIA_TYPES = [
    "mp4", "mkv", "mov", "webm", "flv", "ts", "m4v", "avi", "wmv", "mpg", "mpeg",
    "m4a", "mp3", "wav", "ogg", "opus", "flac", "aac", "wma",
]  # fmt: skip
MB = 1024 * 1024  # Streamlit's megabyte, as in server.maxUploadSize
STAGES = {
    "download": "Downloading",
    "embed": "Listening (decode + embed)",
    "wait": "Following the other run",
}
FAILURE_KEY = "job_failure"


@dataclass(frozen=True)
class Failure:
    """Why the last run stopped, and the analysis that was current then."""

    message: str
    hides: int | None  # its results stay hidden under the error (often another VOD's)


@dataclass(frozen=True)
class Run:
    spec: str | Path  # a link or a local file
    model: str
    window_s: float = DEFAULT_WINDOW_S
    hop_s: float = DEFAULT_HOP_S
    audio_track: int | None = None  # None: the file's default track
    chat: Path | None = None  # a chat replay to attach (saved from an upload)
    chat_keywords: tuple[str, ...] = DEFAULT_KEYWORDS  # kept at any count when attaching

    @classmethod
    def of(cls, record: AnalysisRecord) -> Run:
        """The run that resumes (or repairs) ``record`` under its own key."""
        return cls(
            record.source.url or record.source.path, record.model, record.window_s,
            record.hop_s, record.audio_track,
        )  # fmt: skip


def chat_picker(key: str) -> UploadedFile | None:
    """An optional chat replay to judge the VOD's moments by as well."""
    return st.file_uploader(
        "Chat replay (optional)", type=CHAT_TYPES, key=key,
        help="TwitchDownloader JSON, yt-dlp's rechat or live_chat JSON, chat-downloader JSON, "
        "or a CSV time_s,author,text: each highlight gets chat's reaction and is ranked by it.",
    )  # fmt: skip


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
        st.error("Analyze needs the model: fix it as the message at the top says, then press Analyze again.")  # fmt: skip
    elif chat is None:
        st.session_state.job = Run(spec, settings.model, audio_track=audio_track)
    else:
        try:  # saved and recognised before any decoding: a wrong file is said at once
            path = uploads.save_upload(chat, chat.name, chat.size)
            detect_format(path)
        except HypelineError as e:
            st.error(str(e))
            return
        st.session_state.job = Run(spec, settings.model, audio_track=audio_track, chat=path,
                                   chat_keywords=settings.chat_keywords)  # fmt: skip


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


def size_text(n_bytes: int) -> str:
    """``1.2 GB``, ``340 MB``, ``12 kB`` (decimal units, as file managers show)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return (
                f"{n_bytes / size:.1f} {unit}"
                if n_bytes < 10 * size
                else f"{n_bytes / size:.0f} {unit}"
            )
    return f"{n_bytes} B"


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
        label, numbers, index=numbers.index(default), key=key,
        format_func=lambda n: described[n],
        help="Each track is its own analysis: pick the one whose sound you want to search.",
    )  # fmt: skip
    return picked


def run(store: Store, policy: SourcePolicy | None = None, budget_bytes: int | None = None) -> None:
    """Carry on the queued job, if any, under ``st.status``; its analysis becomes the current one.

    A run stopped by an error says why in an ``st.error`` of its own, below the collapsed
    status, and keeps saying it on the next reruns while ``failed()`` holds.
    ``policy`` bounds what the job may open; ``budget_bytes`` the media copies on disk.
    """
    job: Run | None = st.session_state.get("job")
    if job is None:
        if (message := failed()) is not None:
            st.error(message)
        return
    st.session_state.pop(FAILURE_KEY, None)  # a new run: the last one's error is history
    stop = st.empty()
    if stop.button(
        "Stop", icon=":material/stop_circle:", key="stop",
        help="Stops after the current batch; what is done is kept.",
    ):  # fmt: skip
        st.session_state.job = None
        stop.warning(
            "Stopped. What was analysed is kept: press Analyze again, or Resume in the "
            "Library, to go on from where it stopped."
        )
        return
    notes: list[str] = []
    error: str | None = None
    with st.status(f"Analyzing {job.spec}…", expanded=True) as status:
        try:
            record = _work(job, store, status, notes, policy, budget_bytes)
        except HypelineError as e:
            error = str(e)
            status.update(label="Stopped by an error", state="error", expanded=False)
        except Exception:
            st.session_state.job = None  # a bug: do not retry it on every rerun
            raise
        else:
            # Notes (another run followed, a store repaired) stay in sight.
            status.update(
                label=f"Analyzed {record.source.title}", state="complete", expanded=bool(notes)
            )
    stop.empty()
    st.session_state.job = None
    if error is not None:
        # Outside the status, which folds away: the sentence is the whole story.
        st.session_state[FAILURE_KEY] = Failure(error, st.session_state.get("analysis_id"))
        st.error(error)
        return
    st.session_state.analysis_id = record.id


def failed() -> str | None:
    """Why the last run stopped, while its analysis (or the one before it) is the current one.

    The page shows no results meanwhile: under the error they would read as the failed
    run's. Opening another analysis (the Library, any page) or a new run ends it.
    """
    failure: Failure | None = st.session_state.get(FAILURE_KEY)
    if failure is None:
        return None
    if failure.hides != st.session_state.get("analysis_id"):
        del st.session_state[FAILURE_KEY]
        return None
    return failure.message


def _work(
    job: Run,
    store: Store,
    status: StatusContainer,
    notes: list[str],
    policy: SourcePolicy | None = None,
    budget_bytes: int | None = None,
) -> AnalysisRecord:
    bars: dict[str, DeltaGenerator] = {}

    def show(p: Progress) -> None:
        text = f"{STAGES.get(p.stage, p.stage)}: {p.message}"
        status.update(label=text)
        if p.stage not in bars:
            bars[p.stage] = st.progress(0.0)
        bars[p.stage].progress(p.fraction or 0.0, text=text)

    st.write(f"Opening {job.spec}…")
    source = pipeline.open_spec(job.spec, policy, show)
    if budget_bytes is not None and (
        removed := disk.evict(budget_bytes, store.home, [source.path])
    ):
        freed = size_text(sum(i.size_bytes for i in removed))
        st.write(f"Made room on disk: removed the {len(removed)} least recently used media copies ({freed}).")  # fmt: skip
    st.write(f"Loading the model {job.model}…")
    clap = model.get(job.model)
    if clap is None:
        raise HypelineError(model.error(job.model) or f"The model {job.model} is not loaded.")

    def note(text: str) -> None:
        notes.append(text)
        st.warning(text)

    def opened(record: AnalysisRecord) -> None:
        # The current analysis from the start, so that a stopped run shows up as
        # "incomplete — resume" (embed_source keys and opens it).
        st.session_state.analysis_id = record.id
        # A label, not a bar: a run that follows another's shows only that one's bar.
        status.update(label=f"{STAGES['embed']}: decoding {source.title}…")

    return pipeline.embed(
        source, clap, store, window_s=job.window_s, hop_s=job.hop_s, audio_track=job.audio_track,
        progress=show, on_note=note, on_open=opened, chat=job.chat,
        chat_keywords=job.chat_keywords,
    )  # fmt: skip
