"""What a live monitor listens for, and how: ``LiveSettings``, checked once from a face's fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emotion.analysis import DEFAULT_WINDOW_S
from emotion.errors import HypelineError
from emotion.live.alerts import AlertSettings
from emotion.live.chat import ChatSettings
from emotion.scoring.prompts import (
    DEFAULT_BACKGROUND,
    DEFAULT_TEMPLATE,
    check_prompts,
    check_template,
)
from emotion.scoring.windows import check_grid

DEFAULT_HOP_S = 2.5  # a new window every 2.5 s: alerts within a few seconds of the moment


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
