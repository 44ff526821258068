"""Chat while live: its rate on the stream's clock, and alerts held until chat has answered.

A monitor with a channel's chat (``emotion.live.twitch_chat``) puts each message at the
stream time it arrived (``StreamClock``: the newest audio's stream time plus the wall
clock since it came, so a message during an outage lands in the gap, as the audio's time
does). ``LiveChat`` counts them per second of stream time for the last ``HISTORY_S``,
with the emotes and keywords of ``emotion.scoring.keywords.KeywordMatcher``, and
``emotion.chat.series``'s ``baseline_rate`` over 10 s bins and ``reaction``, so a live
alert's answer is measured as a VOD highlight's is.

An alert at stream time ``t`` is answered by the chat of ``[t + lag_s, t + lag_s + 10 s)``.
``HeldAlerts`` keeps each alert until that span has passed and only then lets it go, with
its ``AlertChat`` filled in: one line and one webhook per alert, final when sent, and a
rule "alert only when chat answered" can be kept at all (a Discord webhook's message
cannot be amended without a bot's token). The cost is the wait, ``lag_s`` + 10 s after the
cell that fired (18 s with the default lag): the moment is still within what a clip made
on the alert reaches back to, which is what an alert is acted on with.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotion.chat.lag import LAG_DEFAULT_S, LAG_SEARCH_S
from emotion.chat.series import (
    MIN_BASELINE,
    SERIES_BIN_S,
    ChatSeries,
    Reaction,
    baseline_rate,
    reaction,
)
from emotion.errors import HypelineError
from emotion.live.alerts import Alert, AlertChat
from emotion.live.twitch_chat import Endpoint, channel_of, check_channel
from emotion.scoring.keywords import DEFAULT_KEYWORDS, KeywordMatcher, check_keywords

SPAN_S = SERIES_BIN_S  # an alert's answer: 10 s of chat, after the lag
HISTORY_S = 3600  # the usual rate: chat of the last hour before the moment
TOKENS_KEPT_S = 300  # emotes and keywords are kept for the spans still to be judged
SPANS_KEPT = 100  # the connected spans remembered (a flapping chat cannot grow memory)
RATE_DECIMALS = 2


@dataclass(frozen=True)
class ChatSettings:
    """A monitor's chat: the channel, the lag its viewers answer with, an optional rule."""

    channel: str
    lag_s: float = LAG_DEFAULT_S
    needs: float | None = None  # alert only when chat ran at least this × its usual rate
    endpoint: Endpoint | None = None  # None: HYPELINE_TWITCH_IRC, else Twitch's own
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS  # counted in chat, as a VOD's (``check_keywords``)

    @classmethod
    def of(
        cls,
        spec: str,
        source: str,
        lag_s: float = LAG_DEFAULT_S,
        needs: float | None = None,
        keywords: Sequence[str] = DEFAULT_KEYWORDS,
        *,
        option: str = "{}",
    ) -> ChatSettings:
        """Checked settings from a face's ``twitch`` (the channel of ``source``, a twitch.tv
        link) or ``twitch:CHANNEL``. The endpoint is the server's own (``HYPELINE_TWITCH_IRC``
        or Twitch's), never the visitor's: only a channel name comes from ``spec``.
        ``option``: how the face's refusals write a value, e.g. ``"--chat {}"``."""
        kind, _, name = spec.partition(":")
        if kind.strip().lower() != "twitch":
            raise HypelineError(
                f"Live chat is read from Twitch only ({spec!r} is not it); use "
                f"{option.format('twitch')} or {option.format('twitch:CHANNEL')}."
            )
        channel = check_channel(name) if name.strip() else channel_of(source)
        if channel is None:
            raise HypelineError(
                f"{source} is not a twitch.tv channel link, so its chat is unknown; name the "
                f"channel with {option.format('twitch:CHANNEL')}."
            )
        settings = cls(channel, lag_s, needs, Endpoint.from_env(), check_keywords(keywords))
        settings.check()
        return settings

    def check(self) -> None:
        check_channel(self.channel)
        check_keywords(self.keywords)
        if not 0 <= self.lag_s <= LAG_SEARCH_S:
            raise HypelineError(
                f"The chat's lag is seconds after the moment; give 0 to {LAG_SEARCH_S:g}."
            )
        if self.needs is not None and not (self.needs > 0 and math.isfinite(self.needs)):
            raise HypelineError(
                "The chat reaction an alert needs is a factor of chat's usual rate, e.g. 2."
            )


class StreamClock:
    """Stream time of a ``time.monotonic()`` instant, from the newest audio's (thread-safe)."""

    def __init__(self) -> None:
        self._mark: tuple[float, float] | None = None  # (stream time, monotonic time)

    def mark(self, stream_s: float, received: float) -> None:
        self._mark = (stream_s, received)  # one assignment: read whole by other threads

    def at(self, when: float | None = None) -> float | None:
        """None before the first audio."""
        mark = self._mark
        if mark is None:
            return None
        now = time.monotonic() if when is None else when
        return mark[0] + max(0.0, now - mark[1])


class LiveChat:
    """Messages per second of stream time, the last ``HISTORY_S`` of them (thread-safe)."""

    def __init__(self, keywords: Sequence[str] = DEFAULT_KEYWORDS) -> None:
        matcher = KeywordMatcher(keywords)
        self.keywords, self._find = matcher.keywords, matcher.find
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}  # second → messages
        self._tokens: dict[int, dict[str, int]] = {}  # second → emote or keyword → messages
        self._newest = self._swept = 0
        self._heard: list[list[float]] = []  # [start_s, end_s] read; end inf while connected
        self.n_messages = 0

    def connected(self, at_s: float) -> None:
        with self._lock:
            if not self._heard or math.isfinite(self._heard[-1][1]):
                self._heard.append([at_s, math.inf])
                del self._heard[:-SPANS_KEPT]

    def disconnected(self, at_s: float) -> None:
        with self._lock:
            if self._heard and not math.isfinite(self._heard[-1][1]):
                self._heard[-1][1] = max(at_s, self._heard[-1][0])

    def add(self, at_s: float, text: str, emotes: Sequence[str] = ()) -> None:
        """One message at stream time ``at_s``: once per emote or keyword, as a VOD's."""
        tokens = self._find(text) if text else set()
        tokens.update(emotes)
        second = int(at_s)
        with self._lock:
            self.n_messages += 1
            if second < self._newest - HISTORY_S:
                return
            self._counts[second] = self._counts.get(second, 0) + 1
            if tokens:
                used = self._tokens.setdefault(second, {})
                for token in tokens:
                    used[token] = used.get(token, 0) + 1
            if second > self._newest:
                self._newest = second
                self._forget()

    def messages_per_10s(self, now_s: float) -> int:
        """Messages in the 10 s of stream time before ``now_s``: the rolling rate."""
        end = int(now_s)
        with self._lock:
            return sum(self._counts.get(s, 0) for s in range(end - int(SPAN_S), end))

    def usual(self, before_s: float) -> tuple[float, bool]:
        """Chat's usual messages per 10 s before ``before_s`` (``baseline_rate`` of the 10 s
        bins read in the last hour) and whether any bin was read; else ``MIN_BASELINE``."""
        end = math.floor(before_s)
        bins = []
        with self._lock:
            for k in range(HISTORY_S // int(SPAN_S)):
                start = end - int(SPAN_S) * (k + 1)
                if start < 0 or not self._was_heard(start, start + SPAN_S):
                    continue
                bins.append(sum(self._counts.get(s, 0) for s in range(start, start + int(SPAN_S))))
        if not bins:
            return MIN_BASELINE, False
        return baseline_rate(np.array(bins[::-1])), True

    def heard(self, start_s: float, end_s: float) -> bool:
        """Whether the chat was being read over the whole of ``[start_s, end_s)``."""
        with self._lock:
            return self._was_heard(start_s, end_s)

    def reaction(self, at_s: float, lag_s: float, usual_per_10s: float) -> Reaction:
        """``emotion.chat.series.reaction`` of the moment at ``at_s``: its 10 s after the lag."""
        first = max(0, math.floor(at_s + lag_s))
        last = math.ceil(at_s + lag_s + SPAN_S)
        with self._lock:
            counts = [self._counts.get(s, 0) for s in range(first, last)]
            tokens = tuple(dict(self._tokens.get(s, {})) for s in range(first, last))
        series = ChatSeries(
            bin_s=1.0,
            messages=np.array(counts, dtype=np.int32),
            chatters=np.zeros(len(counts), dtype=np.int32),
            tokens=tokens,
            baseline=usual_per_10s / SPAN_S,  # per one-second bin
        )
        return reaction(series, at_s - first, at_s - first + SPAN_S, lag_s)

    def _was_heard(self, start_s: float, end_s: float) -> bool:
        return any(a <= start_s and end_s <= b for a, b in self._heard)

    def _forget(self) -> None:
        if self._newest - self._swept < 60:  # a sweep a minute of stream time is enough
            return
        self._swept = self._newest
        for second in [s for s in self._counts if s < self._newest - HISTORY_S]:
            del self._counts[second]
        for second in [s for s in self._tokens if s < self._newest - TOKENS_KEPT_S]:
            del self._tokens[second]


class HeldAlerts:
    """Alerts waiting for chat's answer; ``due`` lets go those whose span has passed."""

    def __init__(self, chat: LiveChat, settings: ChatSettings) -> None:
        self.chat = chat
        self.settings = settings
        self._held: list[Alert] = []

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, alert: Alert) -> None:
        self._held.append(alert)

    def closes_at(self, alert: Alert) -> float:
        """The stream time after which chat's answer to ``alert`` is all in."""
        return alert.stream_time_s + self.settings.lag_s + SPAN_S

    def wait_s(self, now_s: float) -> float:
        """How much stream time until the last held alert's span has passed."""
        return max((self.closes_at(a) - now_s for a in self._held), default=0.0)

    def due(self, now_s: float, all_now: bool = False) -> tuple[list[Alert], list[Alert]]:
        """``(to send, held back)``: alerts whose span has passed (every one with
        ``all_now``), with their ``chat``; held back: a complete answer under ``needs``."""
        ready: list[Alert] = []
        held: list[Alert] = []
        for alert in self._held:
            (ready if all_now or now_s >= self.closes_at(alert) else held).append(alert)
        self._held = held
        send, refused = [], []
        for alert in ready:
            judged = dataclasses.replace(alert, chat=self._answer(alert, now_s))
            needs = self.settings.needs
            assert judged.chat is not None
            if needs is not None and judged.chat.complete and judged.chat.rate_vs_baseline < needs:
                refused.append(judged)
            else:
                send.append(judged)
        return send, refused

    def _answer(self, alert: Alert, now_s: float) -> AlertChat:
        s = self.settings
        usual, measured = self.chat.usual(alert.stream_time_s)
        answer = self.chat.reaction(alert.stream_time_s, s.lag_s, usual)
        start_s = alert.stream_time_s + s.lag_s
        complete = (
            measured and now_s >= start_s + SPAN_S and self.chat.heard(start_s, start_s + SPAN_S)
        )
        return AlertChat(
            channel=s.channel,
            messages=answer.messages,
            rate_vs_baseline=round(answer.rate_vs_baseline, RATE_DECIMALS),
            baseline_per_10s=round(usual, RATE_DECIMALS),
            top=answer.top,
            lag_s=s.lag_s,
            complete=complete,
        )
