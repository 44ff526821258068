"""One analysis of a VOD: decode → windows → embeddings (stored) → scores → highlights.

``embed_source`` is the expensive half: it streams the audio through the model once and
stores the window embeddings, resuming where a killed run stopped. It is the only writer
of embeddings and writes only under the analysis's lease, so two callers of one analysis
(two CLI runs, a CLI run and a dashboard session, …) never both write: the second follows
the first's progress and takes over if the first dies. ``score`` is the cheap half: one
matrix product over the stored vectors, so new prompts, templates or thresholds never
touch the audio again.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotion.chat.judge import ChatSummary
from emotion.clock import clock
from emotion.errors import BusyError, Cancelled
from emotion.lease import Lease
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.media.audio import DecodeStats, stream_audio
from emotion.media.source import Source
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight, HighlightSettings, cell_timeline, find_highlights
from emotion.scoring.prompts import (
    DEFAULT_TEMPLATE,
    prompts_for,
    zero_shot_probabilities,
)
from emotion.scoring.windows import Window, check_grid, expected_windows, iter_windows

if TYPE_CHECKING:  # the model module imports torch (seconds); analyses read without it
    from emotion.model.clap import Clap
    from emotion.scoring.adapt import Adapter

DEFAULT_WINDOW_S = 10.0  # CLAP's native clip length
DEFAULT_HOP_S = 5.0
PREFETCH_BATCHES = 2  # decoded batches waiting for the model: bounds memory
# How often a caller waiting for another run's lease looks at its progress (and retries).
WAIT_POLL_S = 0.25
BUSY = "Another process is analysing this VOD"


def default_batch_size(clap: Clap) -> int:
    return 64 if clap.device.type == "cuda" else 8


@dataclass(frozen=True, slots=True)
class EmbedJob:
    """The windows an embedder is asked for: audio track ``track`` of ``path`` at
    ``sampling_rate`` on the ``window_s``/``hop_s`` grid, from window ``first_index`` on,
    in batches of ``batch_size`` consecutive windows (the last may be shorter)."""

    path: Path
    track: int
    sampling_rate: int
    window_s: float
    hop_s: float
    first_index: int
    batch_size: int


# The job's batches → one ``[n, dim]`` array of vectors each, in order, filling the
# ``DecodeStats`` as it decodes. ``embed_source`` stores what it yields and needs nothing
# else, so the decoding and the model may run elsewhere (``emotion.engines``: several VODs
# decoded at once, or a Ray cluster); the batches being the same, so are the numbers.
Embedder = Callable[[EmbedJob, DecodeStats], Generator[np.ndarray, None, None]]


def decoding_embedder(embed: Callable[[list[np.ndarray]], np.ndarray]) -> Embedder:
    """The job decoded here (one ffmpeg, ``PREFETCH_BATCHES`` ahead on a thread), each
    batch through ``embed``: what every analysis does unless given another embedder."""

    def run(job: EmbedJob, decoded: DecodeStats) -> Generator[np.ndarray, None, None]:
        pcm = stream_audio(job.path, job.sampling_rate, track=job.track, stats=decoded)
        windows = iter_windows(
            pcm, job.sampling_rate, job.window_s, job.hop_s, first_index=job.first_index
        )
        with contextlib.closing(
            _prefetched(window_batches(windows, job.batch_size), PREFETCH_BATCHES)
        ) as batches:
            for batch in batches:
                yield embed([w.samples for w in batch])

    return run


@dataclass
class Analysis:
    """What the exporters and the dashboard read.

    ``scores[i, j]`` is the probability of ``prompts[j]`` (labels, then background) in the
    window starting at ``window_starts_s[i]``; rows sum to 1.
    """

    source: Source
    model: str
    window_s: float
    hop_s: float
    template: str
    labels: list[str]
    background: list[str]
    window_starts_s: np.ndarray
    scores: np.ndarray
    duration_s: float = 0.0
    highlights: list[Highlight] = field(default_factory=list)
    analysis_id: int | None = None
    audio_track: int = 1
    nonfinite_s: float = 0.0  # audio that decoded to NaN/Inf and was analysed as silence
    precision: str = "fp32"  # what the embeddings were computed in (emotion.model.clap)
    rules: HighlightSettings | None = None  # what found the highlights (scale, thresholds)
    chat: ChatSummary | None = None  # the chat replay beside the sound, when it has one

    @property
    def prompts(self) -> list[str]:
        return [*self.labels, *self.background]


def embed_source(
    clap: Clap,
    store: Store,
    source: Source,
    identity: str,
    window_s: float = DEFAULT_WINDOW_S,
    hop_s: float = DEFAULT_HOP_S,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    audio_track: int | None = None,
    wait: bool = True,
    on_note: Callable[[str], None] | None = None,
    on_open: Callable[[AnalysisRecord], None] | None = None,
    embed: Callable[[list[np.ndarray]], np.ndarray] | None = None,
    embedder: Embedder | None = None,
) -> AnalysisRecord:
    """Embed every window of ``source`` into the store (resuming), and return its record.

    ``audio_track`` (numbered from 1) defaults to the container's default track. When
    another caller is embedding this analysis, this one follows its progress and returns
    its result (taking over if it dies), or raises ``BusyError`` with ``wait=False``.
    ``on_note`` hears one-line notes: that another caller is at work, a store repaired.
    ``on_open`` gets the record as soon as it exists (before any work), so that a caller can
    show it as the current analysis even if the run stops. ``embed`` replaces
    ``clap.embed_audio`` (a server passes its ``Batcher``'s, so analyses share the model's
    thread with every other caller); the numbers are the same. ``embedder`` replaces the
    decoding and the model altogether (``Embedder``), this process still the one writer.
    """
    check_grid(window_s, hop_s)
    track = source.check_track(audio_track)
    record = store.open_analysis(
        source,
        identity,
        clap.name,
        window_s,
        hop_s,
        clap.embedding_dim,
        audio_track=track,
        precision=clap.precision,
        published=source.published,
    )
    if on_open is not None:
        on_open(record)
    if record.complete and store.check(record) is None:
        return record  # readers take no lease
    total = expected_windows(source.duration_s, window_s, hop_s)
    with _hold(store, record.id, wait, total, progress, cancel, on_note) as lease:
        record, note = store.repair(lease, record.id)
        if note is not None and on_note is not None:
            on_note(note)
        if record.complete:  # the caller we waited for finished it
            return record
        _embed(
            clap,
            store,
            lease,
            record,
            source,
            track,
            batch_size,
            total,
            progress,
            cancel,
            embedder or decoding_embedder(embed or clap.embed_audio),
        )
    return store.analysis(record.id)


def _hold(
    store: Store,
    analysis_id: int,
    wait: bool,
    total: int | None,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    on_note: Callable[[str], None] | None,
) -> Lease:
    """The analysis's lease, after following its holder's progress until it lets go."""
    lease = store.lease(analysis_id)
    if lease is not None:
        return lease
    if not wait:
        raise BusyError(f"{BUSY}; wait for it to finish, or run again later.")
    if on_note is not None:
        on_note(f"{BUSY}; following its progress.")
    seen = -1
    # The OS frees the lease when its holder ends, however it ends: polling it is all
    # the waiting there is. The holder's batches show up in the database as they land.
    while True:
        lease = store.lease(analysis_id)
        n_done = store.analysis(analysis_id).n_done
        if progress is not None and n_done != seen:
            progress(_wait_progress(n_done, total))
            seen = n_done
        if lease is not None:
            return lease
        if cancel is not None and cancel.is_set():
            raise Cancelled(
                "Stopped waiting; the other process analysing this VOD goes on, and a later "
                "run picks up its result."
            )
        time.sleep(WAIT_POLL_S)


def _embed(
    clap: Clap,
    store: Store,
    lease: Lease,
    record: AnalysisRecord,
    source: Source,
    track: int,
    batch_size: int | None,
    total: int | None,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    embedder: Embedder,
) -> None:
    job = EmbedJob(
        source.path,
        track,
        clap.sampling_rate,
        record.window_s,
        record.hop_s,
        record.n_done,
        batch_size or default_batch_size(clap),
    )
    decoded = DecodeStats()
    started, first_done = time.monotonic(), record.n_done
    n_done = record.n_done
    with contextlib.closing(embedder(job, decoded)) as batches:
        while True:  # the stop is looked at before each batch is embedded (pulled)
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Stopped after {n_done} windows; run again to resume.")
            vectors = next(batches, None)
            if vectors is None:
                break
            n_done += len(vectors)
            store.append(lease, record.id, clap.embedding_dim, vectors, n_done)
            if progress is not None:
                progress(_embed_progress(n_done, first_done, total, started))
    store.finish(lease, record.id, decoded.duration_s, decoded.nonfinite_s)


def score(
    record: AnalysisRecord,
    vectors: np.ndarray,
    clap: Clap,
    labels: Sequence[str],
    background: Sequence[str] = (),
    template: str = DEFAULT_TEMPLATE,
    settings: HighlightSettings | None = None,
    adapter: Adapter | None = None,
) -> Analysis:
    """Probabilities per window and highlights from stored embeddings (no audio involved).

    With an ``adapter`` (``emotion.scoring.adapt``), labels learned from the user's picks add
    their cache's vote to the zero-shot logits.
    """
    settings = settings or HighlightSettings()
    prompts = [*labels, *background]
    text = clap.embed_text(prompts_for(prompts, template))
    if adapter is None:
        window_scores = zero_shot_probabilities(vectors, text, clap.logit_scale)
    else:
        adapter.check_model(record.model)
        window_scores = adapter.probabilities(vectors, text, clap.logit_scale, prompts)
    duration_s = record.duration_s or vectors.shape[0] * record.hop_s
    cell_starts, cell_scores = cell_timeline(
        window_scores, record.hop_s, record.window_s, duration_s
    )
    highlights = find_highlights(
        labels, cell_starts, cell_scores, record.hop_s, duration_s, settings
    )
    return Analysis(
        source=record.source,
        model=record.model,
        window_s=record.window_s,
        hop_s=record.hop_s,
        template=template,
        labels=list(labels),
        background=list(background),
        window_starts_s=np.arange(vectors.shape[0]) * record.hop_s,
        scores=window_scores,
        duration_s=duration_s,
        highlights=highlights,
        rules=settings,
        analysis_id=record.id,
        audio_track=record.audio_track,
        nonfinite_s=record.nonfinite_s,
        precision=record.precision,
    )


def window_batches(windows: Iterator[Window], size: int) -> Iterator[list[Window]]:
    """``size`` consecutive windows at a time (the last batch may be shorter)."""
    while batch := list(islice(windows, size)):
        yield batch


def _prefetched(items: Iterator[list[Window]], depth: int) -> Generator[list[Window], None, None]:
    """Run ``items`` on a thread, ``depth`` ahead: ffmpeg decodes while the model embeds."""
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(("item", item))
            q.put(("end", None))
        except BaseException as e:  # handed to the consumer, raised there
            q.put(("error", e))

    thread = threading.Thread(target=produce, daemon=True, name="hypeline-decode")
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        close = getattr(items, "close", None)
        if close is not None:
            close()  # ends the ffmpeg process


def _wait_progress(n_done: int, total: int | None) -> Progress:
    if total is None:
        return Progress("wait", None, f"{n_done} windows embedded by another process")
    total = max(total, n_done)
    return Progress("wait", n_done / total, f"{n_done}/{total} windows by another process")


def _embed_progress(n_done: int, first_done: int, total: int | None, started: float) -> Progress:
    elapsed = time.monotonic() - started
    rate = (n_done - first_done) / elapsed if elapsed > 0 else 0.0
    if total is None:
        return Progress("embed", None, f"{n_done} windows embedded ({rate:.1f}/s)")
    total = max(total, n_done)
    eta_s = (total - n_done) / rate if rate > 0 else None
    eta = f", ETA {clock(eta_s)}" if eta_s is not None else ""
    return Progress("embed", n_done / total, f"{n_done}/{total} windows ({rate:.1f}/s){eta}", eta_s)
