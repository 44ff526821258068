"""A monitor's chat thread: a channel's chat read beside the sound, and the alerts it answers.

``ChatFollower`` reads the channel (``emotion.live.twitch_chat``) on a thread of its own into
``LiveChat`` on the stream's clock, keeps the connection's state for the faces (``ChatNow``),
and holds each alert until chat has had its time to answer (``HeldAlerts``). The chat is a
guest: its failures are notes, and the sound is followed whatever becomes of it. Once the
monitor has ended the state is ``CLOSED``, whatever the reader last said.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from emotion.clock import clock
from emotion.live.alerts import Alert
from emotion.live.chat import ChatSettings, HeldAlerts, LiveChat, StreamClock
from emotion.live.twitch_chat import CONNECTED, CONNECTING, GAVE_UP, ChatState, TwitchChat

CLOSED = "closed"  # the monitor has ended: the chat is no longer read (as the Live page says)
POLL_S = 0.25  # while the last alerts wait for chat's answer after the stream ended
JOIN_S = 5.0  # how long the monitor's end waits for the chat thread


@dataclass(frozen=True, slots=True)
class ChatNow:
    """A monitor's chat at a glance: connected or not, and how fast it runs."""

    channel: str
    state: str  # connecting, connected, reconnecting, gave up (twitch_chat's); closed
    connected: bool
    messages: int  # read since the start
    messages_per_10s: int | None  # the last 10 s of stream time; None before any audio
    usual_per_10s: float | None  # its usual rate (``LiveChat.usual``)


class ChatFollower:
    """One channel's chat beside a monitor's sound; ``start()`` reads it on a thread."""

    def __init__(
        self, settings: ChatSettings, stream_clock: StreamClock, on_note: Callable[[str], None]
    ) -> None:
        self.settings = settings
        self.clock = stream_clock
        self.on_note = on_note
        self.chat = LiveChat(settings.keywords)  # the chat's rolling rate
        self.held = HeldAlerts(self.chat, settings)
        self.state: str | None = None  # None until the reader says where it is
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._follow, daemon=True, name="hypeline-live-chat")
        self.thread.start()

    def close(self) -> None:
        """Stop reading (the monitor has ended); the state is ``CLOSED`` from now on."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=JOIN_S)
        self.state = CLOSED

    def now(self) -> ChatNow:
        """The chat's connection and rolling rate now."""
        rate = self.rate()
        return ChatNow(
            channel=self.settings.channel,
            state=self.state or CONNECTING,
            connected=self.state == CONNECTED,
            messages=self.chat.n_messages,
            messages_per_10s=rate[0] if rate else None,
            usual_per_10s=round(rate[1], 2) if rate else None,
        )

    def rate(self) -> tuple[int, float] | None:
        """``(messages in the last 10 s, usual messages per 10 s)``; None before any audio."""
        now_s = self.clock.at()
        if now_s is None:
            return None
        return self.chat.messages_per_10s(now_s), self.chat.usual(now_s)[0]

    def release(
        self,
        emit: Callable[[Alert], None],
        stop: threading.Event,
        final: bool = False,
        wait: bool = False,
    ) -> None:
        """Send (``emit``) the held alerts whose chat span has passed; ``final``: all of them,
        after waiting (until ``stop``) for the last ones' chat with ``wait`` (the stream is
        over, not stopped). Those the rule holds back are notes."""
        held = self.held
        if not len(held):
            return
        while wait and not stop.is_set() and held.wait_s(self.clock.at() or 0.0) > 0:
            stop.wait(POLL_S)
        now_s = self.clock.at()
        if now_s is None:
            return
        send, refused = held.due(now_s, all_now=final)
        for alert in send:
            emit(alert)
        needs = self.settings.needs
        for alert in refused:
            assert alert.chat is not None
            self.on_note(
                f"no alert for {alert.label} at {clock(alert.stream_time_s)}: chat ran "
                f"×{alert.chat.rate_vs_baseline:g} its usual, under the ×{needs:g} asked for"
            )

    def _follow(self) -> None:
        """The chat thread: messages onto the stream's clock; every failure is a note."""
        reader = TwitchChat(self.settings.channel, self.settings.endpoint, self._stop)
        try:
            for event in reader.events():
                received = event.received if not isinstance(event, ChatState) else None
                at_s = self.clock.at(received)
                if not isinstance(event, ChatState):
                    if at_s is not None:  # before the first audio there is no stream time
                        self.chat.add(at_s, event.text, event.emotes)
                    continue
                self.state = event.state
                if event.state == CONNECTED:
                    self.chat.connected(at_s or 0.0)
                else:
                    self.chat.disconnected(at_s or 0.0)
                if event.state == GAVE_UP:
                    self.on_note(f"chat: {event.message}; the alerts go on without it")
                else:
                    self.on_note(f"chat: {event.message}")
        except Exception as e:  # the chat must never take the sound down with it
            self.chat.disconnected(self.clock.at() or 0.0)
            self.state = GAVE_UP
            self.on_note(f"chat: stopped on an unexpected error ({e}); the alerts go on without it")
        finally:
            if self._stop.is_set():  # the monitor ended it: what the reader said last is past
                self.state = CLOSED
