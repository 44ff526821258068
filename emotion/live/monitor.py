"""A live monitor: a stream followed as it happens, alerting, and kept as an analysis.

``Monitor`` ties the parts together: ``Ingest`` (supervised ffmpeg) → ``LiveGrid``
(windows of the VOD grid, gaps) → the ``Batcher`` → the store (``LiveAppender``: appended
under the analysis's lease as windows come, so a monitor killed and started again
continues the same analysis after a gap) → ``AlertTracker`` → ``on_alert`` and the
webhooks; the audio goes to a ``Recorder`` beside the embeddings. When the stream ends,
gives up, or is stopped, the analysis is finished: afterwards it is an ordinary analysis
of the library (kind ``live``), scored and exported like a VOD's.

Stream time starts at 0 with the first audio the monitor receives and runs with the
audio received plus the gaps (the wall-clock time without audio after a drop). The
rolling timeline and the alerts are of the analysis's cells (``LiveCells``), as a VOD's
timeline and highlights are, so a file read live has its moments at the VOD's times.

With a channel's chat (``LiveSettings.chat``) a ``ChatFollower`` reads it on a thread of
its own, and each alert is held until chat has had its time to answer.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from emotion.analysis import Analysis, score
from emotion.errors import HypelineError
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.live.alerts import Alert, AlertTracker, utc_now
from emotion.live.appender import LiveAppender
from emotion.live.chat import LiveChat, StreamClock
from emotion.live.chat_follower import ChatFollower, ChatNow
from emotion.live.grid import LiveCells, LiveGrid, LiveWindow
from emotion.live.ingest import (
    CONNECTING,
    ENDED,
    FAILED,
    GAVE_UP,
    STOPPED,
    Ingest,
    Lost,
    Pcm,
    State,
)
from emotion.live.recorder import Recorder, part_path
from emotion.live.scorer import WindowScorer
from emotion.live.settings import LiveSettings
from emotion.live.target import Target, check_target
from emotion.live.webhooks import WebhookSender
from emotion.media.netguard import Address
from emotion.model.batcher import Batcher
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import Prompts

TIMELINE_S = 600.0  # how much of the recent timeline a monitor keeps in memory
ALERTS_KEPT = 200
LATENCIES_KEPT = 1000


@dataclass(frozen=True, slots=True)
class Point:
    """One cell of the rolling timeline (``start_s`` to ``start_s + hop_s``): the mean
    probabilities of the prompts (labels first) of the windows over its midpoint."""

    start_s: float
    probabilities: np.ndarray


class Monitor:
    """One stream followed live; ``start()`` runs it on a thread, ``run()`` in the caller's."""

    def __init__(
        self,
        source: str,
        settings: LiveSettings,
        embedder: Batcher,
        store: Store,
        on_alert: Callable[[Alert], None] | None = None,
        on_status: Callable[[str, str], None] | None = None,
        on_note: Callable[[str], None] | None = None,
        target: Target | None = None,
        guard: Collection[Address] | None = None,
    ) -> None:
        """``target``: what ``check_target`` already found for ``source`` (else looked at on
        start); ``guard``: a link someone else gave, reached at public addresses only (and
        the ``(ip, port)`` pairs listed), checked at every connection (``emotion.live.hls``)."""
        self.source = source.strip()
        self.guard = guard
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.on_alert = on_alert
        self.on_status = on_status
        self.on_note = on_note or (lambda _note: None)
        self.labels, self.background = settings.check()
        prompts = Prompts(tuple(self.labels), tuple(self.background), settings.template)
        self.scorer = WindowScorer(embedder, prompts)
        self.state = CONNECTING
        self.message = ""
        self.error: str | None = None
        self.target = target
        self.record: AnalysisRecord | None = None
        self.alerts: deque[Alert] = deque(maxlen=ALERTS_KEPT)  # oldest first
        self.n_alerts = 0
        timeline_cells = max(1, math.ceil(TIMELINE_S / settings.hop_s))
        self.timeline: deque[Point] = deque(maxlen=timeline_cells)
        self.gaps: list[tuple[float, float]] = []
        self.latencies_s: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.started_at = time.time()
        self.stream_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._appender: LiveAppender | None = None
        self._recorder: Recorder | None = None
        self._grid: LiveGrid | None = None
        self._cells: LiveCells | None = None
        self._tracker = AlertTracker(self.labels, settings.alerts)
        self.clock = StreamClock()
        self.chat_follower: ChatFollower | None = None  # with settings.chat
        self.chat: LiveChat | None = None  # the chat's rolling rate, with settings.chat
        if settings.chat is not None:
            self.chat_follower = ChatFollower(settings.chat, self.clock, self.on_note)
            self.chat = self.chat_follower.chat
        self._webhooks: WebhookSender | None = None

    # --- control ---------------------------------------------------------------------

    def check(self) -> Target:
        """Look at the source (a sentence if it cannot be followed); nothing is written."""
        if self.target is None:
            self.target = check_target(self.source, self.settings.realtime, self.guard)
        return self.target

    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._run_logged, daemon=True, name="hypeline-live")
        self._thread.start()

    def stop(self) -> None:
        """Stop following; the analysis is finished and kept."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout_s: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def chat_state(self) -> str | None:
        """The chat's connection (``ChatNow.state``); None without chat or before it said."""
        return self.chat_follower.state if self.chat_follower is not None else None

    def chat_now(self) -> ChatNow | None:
        """The chat's connection and rolling rate now; None without chat."""
        return self.chat_follower.now() if self.chat_follower is not None else None

    def chat_rate(self) -> tuple[int, float] | None:
        """``(messages in the last 10 s, usual messages per 10 s)`` of the chat, if any."""
        return self.chat_follower.rate() if self.chat_follower is not None else None

    @property
    def prompts(self) -> list[str]:
        return self.scorer.prompts

    def analysis(self, settings: HighlightSettings | None = None) -> Analysis | None:
        """The analysis so far (or finished), scored like a VOD's; None before any audio."""
        if self.record is None:
            return None
        record = self.store.analysis(self.record.id)
        vectors = self.store.vectors(record)
        if vectors.shape[0] == 0:
            return None
        s = self.settings
        highlight = settings or HighlightSettings(threshold=s.alerts.threshold)
        clap = self.embedder.clap
        return score(record, vectors, clap, self.labels, self.background, s.template, highlight)

    # --- the loop --------------------------------------------------------------------

    def _run_logged(self) -> None:
        try:
            self.run()
        except HypelineError as e:
            self.error = str(e)
            self._set_state(FAILED, str(e))
        except Exception as e:  # a monitor thread must not die silently
            self.error = f"The monitor stopped on an unexpected error ({e})."
            self._set_state(FAILED, self.error)

    def run(self) -> AnalysisRecord | None:
        """Follow the stream until it ends, is given up, or ``stop()``; the finished record."""
        target = self.check()
        webhooks = WebhookSender(self.settings.webhooks, self.settings.webhook_secret, self.on_note)
        self._webhooks = webhooks
        if self.chat_follower is not None:
            self.chat_follower.start()
        ingest = Ingest(
            target,
            self.embedder.sampling_rate,
            self.settings.give_up_after_s,
            self._stop,
            guard=self.guard,
        )
        final_state = STOPPED
        try:
            for event in ingest.events():
                self._release()
                if isinstance(event, State):
                    self._set_state(event.state, event.message)
                    if event.state in (ENDED, GAVE_UP):
                        final_state = event.state
                    continue
                if self.record is None:
                    self._open(target)
                assert self._grid is not None
                if isinstance(event, Lost):
                    self._gap(event.seconds)
                elif isinstance(event, Pcm):
                    if self._recorder is not None:
                        self._recorder.write(event.samples)
                    windows = self._grid.push(event.samples, event.received)
                    self.clock.mark(self._grid.position_s, event.received)
                    self._process(windows, webhooks)
            if self.record is not None:
                self._finish(webhooks)
            self._release(final=True, wait=final_state != STOPPED)
            if final_state == STOPPED:
                self._set_state(STOPPED, "stopped")
        finally:
            if self.chat_follower is not None:
                self.chat_follower.close()
            webhooks.close()
            if self._recorder is not None:
                self._recorder.close()
            if self._appender is not None:
                self._appender.release()
        return self.store.analysis(self.record.id) if self.record is not None else None

    def _open(self, target: Target) -> None:
        """The analysis, at the first audio: a new one, or the one a killed monitor left."""
        clap = self.embedder.clap
        s = self.settings
        appender = LiveAppender.open(self.store, target, clap, s.window_s, s.hop_s, self.on_note)
        self._appender = appender
        record = self.record = appender.record
        self._grid = LiveGrid(clap.sampling_rate, s.window_s, s.hop_s, first_index=record.n_done)
        self._cells = appender.resume_cells(self.scorer, self._tracker, s.window_s, s.hop_s)
        self.gaps = appender.gaps()
        resumed_at = 0.0
        lost_s = appender.lost_s(self._grid.position_s)
        if lost_s is not None:
            self._gap(lost_s)
            resumed_at = self._grid.position_s
            self.on_note(f"continuing analysis {record.id} after a gap of {lost_s:.1f} s")
        if s.record:
            self._recorder = Recorder(part_path(appender.folder, resumed_at), clap.sampling_rate)

    def _gap(self, seconds: float) -> None:
        assert self._grid is not None and self._appender is not None
        start_s, end_s, windows = self._grid.gap(seconds)
        if end_s > start_s:
            self._appender.add_gap(start_s, end_s)
            self.gaps.append((start_s, end_s))
            self.on_note(f"gap of {end_s - start_s:.1f} s at {start_s:.1f} s of stream time")
        if self._recorder is not None:
            self._recorder.silence(seconds)
        self._process(windows, None)

    def _process(self, windows: list[LiveWindow], webhooks: WebhookSender | None) -> None:
        assert self._appender is not None and self.record is not None and self._grid is not None
        assert self._cells is not None
        self.stream_s = self._grid.position_s
        if not windows:
            return
        vectors = np.zeros((len(windows), self.record.dim), dtype=np.float32)
        real = [i for i, w in enumerate(windows) if w.samples is not None]
        if real:
            vectors[real] = self.embedder.embed([windows[i].samples for i in real])  # type: ignore[misc]
        self._appender.append(vectors, windows[-1].index + 1, self._grid.position_s)
        # Gap windows too (zero vectors: every prompt alike), as the VOD's scores have them.
        probabilities = self.scorer.probabilities(vectors)
        for w, p in zip(windows, probabilities, strict=True):
            self._cell(*self._cells.push(w.index, p), webhooks=webhooks)
            if w.received:
                self.latencies_s.append(time.monotonic() - w.received)

    def _cell(self, start_s: float, p: np.ndarray, webhooks: WebhookSender | None) -> None:
        """A settled cell: onto the timeline, and the alerts it fires (where a VOD's
        highlight starts: the first cell at the threshold)."""
        assert self.record is not None
        self.timeline.append(Point(start_s, p))
        for label, value in self._tracker.update(start_s, p):
            alert = Alert(label, round(value, 4), start_s, utc_now(), self.record.id, self.source)
            if self.chat_follower is not None:
                self.chat_follower.held.hold(alert)  # sent once chat has had its time to answer
            else:
                self._emit(alert, webhooks)

    def _emit(self, alert: Alert, webhooks: WebhookSender | None) -> None:
        self.alerts.append(alert)
        self.n_alerts += 1
        if self.on_alert is not None:
            self.on_alert(alert)
        if webhooks is not None:
            webhooks.send(alert)

    def _release(self, final: bool = False, wait: bool = False) -> None:
        """Send the held alerts whose chat span has passed (``ChatFollower.release``)."""
        if self.chat_follower is not None:
            emit = functools.partial(self._emit, webhooks=self._webhooks)
            self.chat_follower.release(emit, self._stop, final=final, wait=wait)

    def _finish(self, webhooks: WebhookSender) -> None:
        assert self._grid is not None and self._appender is not None
        self._process(self._grid.finish(), webhooks)
        assert self._cells is not None
        for start_s, p in self._cells.finish(self._grid.position_s):
            self._cell(start_s, p, webhooks)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        recorded_at = self.embedder.sampling_rate if self.settings.record else None
        self.record = self._appender.finish(self._grid.position_s, recorded_at)

    def _set_state(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        if self.on_status is not None:
            self.on_status(state, message)
