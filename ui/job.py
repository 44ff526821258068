"""A queued run of the page (download, then decode + embed), carried on under ``st.status``.

Every finished batch is in the store, so a run that is stopped (the Stop button, a
browser reload, any widget touched meanwhile) loses nothing: the next run of the same
source resumes. While ``st.session_state.job`` is set, each script run carries the job on,
so touching the sidebar during a run only costs a restart from the last batch.

When another session or process is already analysing the same VOD, the run follows that
one's progress instead of writing (``embed_source`` holds one writer per analysis), and
takes over from its last batch if it dies. In shared mode a ``SourcePolicy`` bounds what
the run may open, and the media copies in ``HYPELINE_HOME`` a disk budget
(``emotion.media.disk``). What queues a run is ``ui.job_form``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.elements.lib.mutable_status_container import StatusContainer

from emotion import pipeline
from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.errors import HypelineError
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.media import disk
from emotion.media.source import SourcePolicy
from emotion.progress import Progress
from emotion.scoring.keywords import DEFAULT_KEYWORDS
from ui import model

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
            record.source.url or record.source.path,
            record.model,
            record.window_s,
            record.hop_s,
            record.audio_track,
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
        "Stop",
        icon=":material/stop_circle:",
        key="stop",
        help="Stops after the current batch; what is done is kept.",
    ):
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
        st.write(
            f"Made room on disk: removed the {len(removed)} least recently used media copies "
            f"({freed})."
        )
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
        source,
        clap,
        store,
        window_s=job.window_s,
        hop_s=job.hop_s,
        audio_track=job.audio_track,
        progress=show,
        on_note=note,
        on_open=opened,
        chat=job.chat,
        chat_keywords=job.chat_keywords,
    )
