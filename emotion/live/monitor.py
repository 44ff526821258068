"""A live monitor: a stream followed as it happens, alerting, and kept as an analysis.

``Monitor`` ties the parts together: ``Ingest`` (supervised ffmpeg) → ``LiveGrid``
(windows of the VOD grid, gaps) → the ``Batcher`` → the store (appended under the
analysis's lease as windows come, so a monitor killed and started again continues the
same analysis after a gap) → ``AlertTracker`` → ``on_alert`` and the webhooks; the audio
goes to a ``Recorder`` beside the embeddings. When the stream ends, gives up, or is
stopped, the analysis is finished: afterwards it is an ordinary analysis of the library
(kind ``live``), scored and exported like a VOD's.

Stream time starts at 0 with the first audio the monitor receives and runs with the
audio received plus the gaps (the wall-clock time without audio after a drop). The
rolling timeline and the alerts are of the analysis's cells (``LiveCells``), as a VOD's
timeline and highlights are, so a file read live has its moments at the VOD's times.

With a channel's chat (``LiveSettings.chat``) a second thread reads it
(``emotion.live.twitch_chat``) into ``LiveChat`` on the stream's clock, and each alert is
held until chat has had its time to answer (``emotion.live.chat.HeldAlerts``). The chat is
a guest: its failures are notes, and the sound is followed whatever becomes of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion.analysis import DEFAULT_WINDOW_S, Analysis, score
from emotion.clock import clock
from emotion.errors import BusyError, HypelineError
from emotion.lease import Lease
from emotion.library.store import AnalysisRecord, Store
from emotion.live.alerts import Alert, AlertSettings, AlertTracker, utc_now
from emotion.live.chat import ChatSettings, HeldAlerts, LiveChat, StreamClock
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
    Target,
    check_target,
)
from emotion.live.recorder import Recorder, assemble, part_path
from emotion.live.scorer import WindowScorer
from emotion.live.twitch_chat import CONNECTED as CHAT_CONNECTED
from emotion.live.twitch_chat import GAVE_UP as CHAT_GAVE_UP
from emotion.live.twitch_chat import ChatState, TwitchChat
from emotion.live.webhooks import WebhookSender
from emotion.media.netguard import Address
from emotion.media.source import Source, canonical_url
from emotion.model.batcher import Batcher
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import (
    DEFAULT_BACKGROUND,
    DEFAULT_TEMPLATE,
    Prompts,
    check_prompts,
    check_template,
)
from emotion.scoring.windows import check_grid

DEFAULT_HOP_S = 2.5  # a new window every 2.5 s: alerts within a few seconds of the moment
TIMELINE_S = 600.0  # how much of the recent timeline a monitor keeps in memory
CHAT_POLL_S = 0.25  # while the last alerts wait for chat's answer after the stream ended
ALERTS_KEPT = 200
LATENCIES_KEPT = 1000


@dataclass(frozen=True)
class LiveSettings:
    """What a monitor listens for, and how (seconds are of stream time)."""

    labels: tuple[str, ...]
    background: tuple[str, ...] = DEFAULT_BACKGROUND
    template: str = DEFAULT_TEMPLATE
    window_s: float = DEFAULT_WINDOW_S
    hop_s: float = DEFAULT_HOP_S
    alerts: AlertSettings = field(default_factory=AlertSettings)
    give_up_after_s: float = 600.0
    realtime: bool = False  # a local file read at 1× speed
    record: bool = True
    webhooks: tuple[str, ...] = ()
    webhook_secret: str | None = None
    chat: ChatSettings | None = None  # a channel's chat beside the sound

    @classmethod
    def build(
        cls,
        labels: Sequence[str] | str,
        background: Sequence[str] | str = DEFAULT_BACKGROUND,
        *,
        threshold: float = AlertSettings.threshold,
        cooldown_s: float = AlertSettings.cooldown_s,
        webhooks: Iterable[str] = (),
        **options: Any,
    ) -> LiveSettings:
        """Checked settings from a face's fields (labels as a list or comma-separated text)."""
        label_list, background_list = check_prompts(labels, background)
        settings = cls(
            labels=tuple(label_list),
            background=tuple(background_list),
            alerts=AlertSettings(threshold=threshold, cooldown_s=cooldown_s),
            webhooks=tuple(webhooks),
            **options,
        )
        settings.check()
        return settings

    def check(self) -> tuple[list[str], list[str]]:
        labels, background = check_prompts(list(self.labels), list(self.background))
        check_template(self.template)
        check_grid(self.window_s, self.hop_s)
        self.alerts.check()
        if self.chat is not None:
            self.chat.check()
        if not self.give_up_after_s > 0:
            raise HypelineError("The give-up time must be a positive number of seconds.")
        return labels, background


@dataclass(frozen=True, slots=True)
class Point:
    """One cell of the rolling timeline (``start_s`` to ``start_s + hop_s``): the mean
    probabilities of the prompts (labels first) of the windows over its midpoint."""

    start_s: float
    probabilities: np.ndarray


@dataclass(frozen=True, slots=True)
class ChatNow:
    """A monitor's chat at a glance: connected or not, and how fast it runs."""

    channel: str
    state: str  # connecting, connected, reconnecting, gave up (emotion.live.twitch_chat)
    connected: bool
    messages: int  # read since the start
    messages_per_10s: int | None  # the last 10 s of stream time; None before any audio
    usual_per_10s: float | None  # its usual rate (``LiveChat.usual``)


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
        self.timeline: deque[Point] = deque(maxlen=max(1, math.ceil(TIMELINE_S / settings.hop_s)))
        self.gaps: list[tuple[float, float]] = []
        self.latencies_s: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.started_at = time.time()
        self.stream_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease: Lease | None = None
        self._recorder: Recorder | None = None
        self._grid: LiveGrid | None = None
        self._cells: LiveCells | None = None
        self._tracker = AlertTracker(self.labels, settings.alerts)
        self.clock = StreamClock()
        self.chat: LiveChat | None = None  # the chat's rolling rate, with settings.chat
        self.chat_state: str | None = None
        self._held: HeldAlerts | None = None
        if settings.chat is not None:
            self.chat = LiveChat(settings.chat.keywords)
            self._held = HeldAlerts(self.chat, settings.chat)
        self._chat_stop = threading.Event()
        self._chat_thread: threading.Thread | None = None
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

    def chat_now(self) -> ChatNow | None:
        """The chat's connection and rolling rate now; None without chat."""
        chat, settings = self.chat, self.settings.chat
        if chat is None or settings is None:
            return None
        rate = self.chat_rate()
        return ChatNow(
            channel=settings.channel,
            state=self.chat_state or "connecting",
            connected=self.chat_state == CHAT_CONNECTED,
            messages=chat.n_messages,
            messages_per_10s=rate[0] if rate else None,
            usual_per_10s=round(rate[1], 2) if rate else None,
        )

    def chat_rate(self) -> tuple[int, float] | None:
        """``(messages in the last 10 s, usual messages per 10 s)`` of the chat, if any."""
        now_s = self.clock.at()
        if self.chat is None or now_s is None:
            return None
        return self.chat.messages_per_10s(now_s), self.chat.usual(now_s)[0]

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
        highlight = settings or HighlightSettings(threshold=self.settings.alerts.threshold)
        return score(record, vectors, self.embedder.clap, self.labels, self.background,
                     self.settings.template, highlight)  # fmt: skip

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
        self._start_chat()
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
            self._chat_stop.set()
            if self._chat_thread is not None:
                self._chat_thread.join(timeout=5)
            webhooks.close()
            if self._recorder is not None:
                self._recorder.close()
            if self._lease is not None:
                self._lease.release()
        return self.store.analysis(self.record.id) if self.record is not None else None

    def _open(self, target: Target) -> None:
        """The analysis, at the first audio: a new one, or the one a killed monitor left."""
        clap = self.embedder.clap
        s = self.settings
        key = "live:" + (
            canonical_url(target.spec) if not target.is_file else str(Path(target.spec).resolve())
        )
        same = [r for r in self.store.running_live(key + "@")
                if (r.model, r.window_s, r.hop_s, r.precision) == (clap.name, s.window_s, s.hop_s, clap.precision)]  # fmt: skip
        now = time.time()
        identity = f"{key}@{int(now)}"
        if same:
            identity = key + "@" + _identity_suffix(same[0])
        folder = self.store.home / "recordings" / hashlib.sha256(identity.encode()).hexdigest()[:16]
        began = same[0].published if same and same[0].published else now
        when = dt.datetime.fromtimestamp(began, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        source = Source(
            path=folder / "recording.ogg",
            title=f"{target.title} (live {when})",
            duration_s=None,
            url=None if target.is_file else target.spec,
        )
        record = self.store.open_analysis(
            source, identity, clap.name, s.window_s, s.hop_s, clap.embedding_dim,
            precision=clap.precision, kind="live", published=began,
        )  # fmt: skip
        lease = self.store.lease(record.id)
        if lease is None:
            raise BusyError(
                "Another monitor is following this stream into the same analysis; stop it first."
            )
        self._lease = lease
        record, note = self.store.repair(lease, record.id)
        if note is not None:
            self.on_note(note)
        self.record = record
        self._grid = LiveGrid(clap.sampling_rate, s.window_s, s.hop_s, first_index=record.n_done)
        self._cells = self._resume_cells(record)
        self.gaps = [tuple(g) for g in self.store.gaps(record.id)]  # type: ignore[misc]
        resumed_at = 0.0
        if record.n_done > 0 or (record.duration_s or 0) > 0:
            # Resumed after a kill: the audio since the last stored window, and the time
            # the monitor was down, are a gap.
            heard_s = max(record.duration_s or 0.0, self._grid.position_s)
            lost_s = heard_s - self._grid.position_s + max(0.0, now - record.updated)
            self._gap(lost_s)
            resumed_at = self._grid.position_s
            self.on_note(f"continuing analysis {record.id} after a gap of {lost_s:.1f} s")
        if s.record:
            self._recorder = Recorder(part_path(folder, resumed_at), clap.sampling_rate)

    def _resume_cells(self, record: AnalysisRecord) -> LiveCells:
        """The cells from window ``n_done`` on, averaging in the stored windows before it as
        a VOD's cells do. The alerts are put back where the killed run left them (a moment
        it alerted and that goes on is not alerted again), from the cells of those windows."""
        s = self.settings
        keep = 2 * math.ceil(s.window_s / s.hop_s)  # enough cells to settle the hysteresis
        earlier = np.asarray(self.store.vectors(record)[-keep:])
        if not len(earlier):
            return LiveCells(s.window_s, s.hop_s, record.n_done)
        probabilities = self.scorer.probabilities(earlier)
        replay = LiveCells(s.window_s, s.hop_s, record.n_done - len(earlier))
        for i, p in enumerate(probabilities, start=record.n_done - len(earlier)):
            self._tracker.update(*replay.push(i, p))  # said by the killed run already
        self._tracker.forget_cooldowns()
        return LiveCells(s.window_s, s.hop_s, record.n_done, probabilities)

    def _gap(self, seconds: float) -> None:
        assert self._grid is not None and self._lease is not None and self.record is not None
        start_s, end_s, windows = self._grid.gap(seconds)
        if end_s > start_s:
            self.store.add_gap(self._lease, self.record.id, start_s, end_s)
            self.gaps.append((start_s, end_s))
            self.on_note(f"gap of {end_s - start_s:.1f} s at {start_s:.1f} s of stream time")
        if self._recorder is not None:
            self._recorder.silence(seconds)
        self._process(windows, None)

    def _process(self, windows: list[LiveWindow], webhooks: WebhookSender | None) -> None:
        assert self._lease is not None and self.record is not None and self._grid is not None
        assert self._cells is not None
        self.stream_s = self._grid.position_s
        if not windows:
            return
        dim = self.record.dim
        vectors = np.zeros((len(windows), dim), dtype=np.float32)
        real = [i for i, w in enumerate(windows) if w.samples is not None]
        if real:
            vectors[real] = self.embedder.embed([windows[i].samples for i in real])  # type: ignore[misc]
        self.store.append(self._lease, self.record.id, dim, vectors, windows[-1].index + 1)
        self.store.live_position(self._lease, self.record.id, self._grid.position_s)
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
            if self._held is not None:
                self._held.hold(alert)  # sent once chat has had its time to answer
            else:
                self._emit(alert, webhooks)

    def _emit(self, alert: Alert, webhooks: WebhookSender | None) -> None:
        self.alerts.append(alert)
        self.n_alerts += 1
        if self.on_alert is not None:
            self.on_alert(alert)
        if webhooks is not None:
            webhooks.send(alert)

    # --- chat --------------------------------------------------------------------------

    def _start_chat(self) -> None:
        if self.settings.chat is None:
            return
        self._chat_thread = threading.Thread(
            target=self._follow_chat, args=(self.settings.chat,), daemon=True,
            name="hypeline-live-chat",
        )  # fmt: skip
        self._chat_thread.start()

    def _follow_chat(self, settings: ChatSettings) -> None:
        """The chat thread: messages onto the stream's clock; every failure is a note."""
        assert self.chat is not None
        chat = TwitchChat(settings.channel, settings.endpoint, self._chat_stop)
        try:
            for event in chat.events():
                at_s = self.clock.at(event.received if not isinstance(event, ChatState) else None)
                if not isinstance(event, ChatState):
                    if at_s is not None:  # before the first audio there is no stream time
                        self.chat.add(at_s, event.text, event.emotes)
                    continue
                self.chat_state = event.state
                if event.state == CHAT_CONNECTED:
                    self.chat.connected(at_s or 0.0)
                else:
                    self.chat.disconnected(at_s or 0.0)
                if event.state == CHAT_GAVE_UP:
                    self.on_note(f"chat: {event.message}; the alerts go on without it")
                else:
                    self.on_note(f"chat: {event.message}")
        except Exception as e:  # the chat must never take the sound down with it
            self.chat.disconnected(self.clock.at() or 0.0)
            self.chat_state = CHAT_GAVE_UP
            self.on_note(f"chat: stopped on an unexpected error ({e}); the alerts go on without it")

    def _release(self, final: bool = False, wait: bool = False) -> None:
        """Send the held alerts whose chat span has passed; ``final``: all of them, after
        waiting for the last ones' chat with ``wait`` (the stream is over, not stopped)."""
        held = self._held
        if held is None or not len(held):
            return
        while wait and not self._stop.is_set() and held.wait_s(self.clock.at() or 0.0) > 0:
            self._stop.wait(CHAT_POLL_S)
        now_s = self.clock.at()
        if now_s is None:
            return
        send, refused = held.due(now_s, all_now=final)
        for alert in send:
            self._emit(alert, self._webhooks)
        for alert in refused:
            assert alert.chat is not None and self._held is not None
            needs = self._held.settings.needs
            self.on_note(
                f"no alert for {alert.label} at {clock(alert.stream_time_s)}: chat ran "
                f"×{alert.chat.rate_vs_baseline:g} its usual, under the ×{needs:g} asked for"
            )

    def _finish(self, webhooks: WebhookSender) -> None:
        assert self._grid is not None and self._lease is not None and self.record is not None
        self._process(self._grid.finish(), webhooks)
        assert self._cells is not None
        for start_s, p in self._cells.finish(self._grid.position_s):
            self._cell(start_s, p, webhooks)
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if self.settings.record:
            folder = self.record.source.path.parent
            assemble(folder, self.record.source.path, self.embedder.sampling_rate)
        self.store.finish(self._lease, self.record.id, self._grid.position_s)
        self.record = self.store.analysis(self.record.id)

    def _set_state(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        if self.on_status is not None:
            self.on_status(state, message)


def _identity_suffix(record: AnalysisRecord) -> str:
    return str(int(record.published)) if record.published else "0"
