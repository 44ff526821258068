"""Alerts from a growing stream: a label fires when it crosses the threshold.

The hysteresis of ``emotion.scoring.highlights``: a label fires when its probability in a new
cell reaches ``threshold`` and is armed again only once it falls below ``threshold -
hysteresis``, so a score hovering at the line fires once. The monitor feeds it the
analysis's cells, so a label fires at the start of what becomes its highlight. A label
fires at most once per ``cooldown_s`` of stream time. Background prompts never fire.

With a channel's chat beside the sound (``emotion.live.chat``) an alert carries how chat
answered it (``AlertChat``), and may be required to have been answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from emotion.chat.series import Reaction
from emotion.errors import HypelineError
from emotion.scoring.highlights import HighlightSettings


@dataclass(frozen=True, slots=True)
class AlertChat:
    """How a channel's chat answered an alert: its messages over ``lag_s`` to ``lag_s + 10 s``
    after the moment, against its usual rate before the moment (``emotion.live.chat``)."""

    channel: str
    messages: int
    rate_vs_baseline: float  # messages in that span / the usual messages per 10 s
    baseline_per_10s: float  # the usual: median messages per 10 s before the moment
    top: tuple[str, ...]  # the emotes and keywords most used in that span, most first
    lag_s: float
    # The chat was read over the whole span and for at least 10 s before the moment, so
    # the rate means something; only a complete answer can hold an alert back.
    complete: bool

    def why(self) -> str:
        """As a highlight's chat is said (``Reaction.why``): "chat ×4.1, 37 messages, KEKW";
        "chat quiet" when nobody wrote, "chat not read" when nothing could be heard."""
        if self.messages == 0:
            return "chat quiet" if self.complete else "chat not read"
        said = Reaction(self.messages, self.rate_vs_baseline, self.top).why()
        return said if self.complete else f"{said} (partly read)"


@dataclass(frozen=True, slots=True)
class Alert:
    """One moment while live; ``stream_time_s`` is the start of the cell that fired: where
    the analysis's highlight starts, as ``analyze`` places it (``emotion.live.grid.LiveCells``)."""

    label: str
    score: float
    stream_time_s: float
    detected_at: str  # ISO 8601, UTC
    analysis_id: int
    source: str
    chat: AlertChat | None = None  # with a channel's chat only (the key is left out without)

    def to_dict(self) -> dict[str, object]:
        row = {"type": "alert", **asdict(self)}
        if self.chat is None:
            del row["chat"]
        else:
            row["chat"] = {**asdict(self.chat), "top": list(self.chat.top)}
        return row


@dataclass(frozen=True)
class AlertSettings:
    threshold: float = HighlightSettings.threshold  # an alert fires where a highlight starts
    hysteresis: float = 0.1
    cooldown_s: float = 30.0

    def check(self) -> None:
        if not 0 < self.threshold < 1:
            raise HypelineError("The threshold is a probability; give a number between 0 and 1.")
        if self.hysteresis < 0 or self.cooldown_s < 0:
            raise HypelineError(
                "The hysteresis and the cooldown cannot be negative; use 0 to turn them off."
            )

    def crosses(self, score: float) -> bool:
        """The one alert rule: a label's probability at or over the threshold."""
        return score >= self.threshold


class AlertTracker:
    """Feed it each cell's probabilities in order; it says which labels fire."""

    def __init__(self, labels: Sequence[str], settings: AlertSettings) -> None:
        settings.check()
        self.labels = list(labels)
        self.settings = settings
        self._armed = [True] * len(self.labels)
        self._last_fired_s: list[float | None] = [None] * len(self.labels)

    def update(self, start_s: float, probabilities: np.ndarray) -> list[tuple[str, float]]:
        """``(label, score)`` for each label that fires in the cell starting at ``start_s``."""
        s = self.settings
        fired: list[tuple[str, float]] = []
        for j, label in enumerate(self.labels):
            p = float(probabilities[j])
            if not self._armed[j]:
                if p < s.threshold - s.hysteresis:
                    self._armed[j] = True
                continue
            if not s.crosses(p):
                continue
            self._armed[j] = False  # a run that starts inside the cooldown is passed over whole
            last = self._last_fired_s[j]
            if last is not None and start_s - last < s.cooldown_s:
                continue
            self._last_fired_s[j] = start_s
            fired.append((label, p))
        return fired

    def forget_cooldowns(self) -> None:
        """After a restart: a moment still going on stays quiet (not armed again), but the
        next one fires even within the cooldown, since the killed run's webhooks may
        never have left its queue."""
        self._last_fired_s = [None] * len(self.labels)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
