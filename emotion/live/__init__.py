"""The live monitor: follow a stream as it happens, alert on its moments, keep it as an analysis.

``target`` (what a source is) → ``ingest`` (supervised ffmpeg) → ``grid`` (windows with gaps) →
``emotion.model.batcher`` (one model, shared batches) → ``monitor`` (``appender``: the store;
alerts, ``chat_follower``, recording) → ``alerts`` / ``webhooks``; ``settings`` says what a
monitor listens for; ``registry`` holds a process's monitors for the dashboard and the API.

The names below load on first use: the monitor imports torch (seconds), and the CLI's
``live --help`` or an alert's JSON need none of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotion.live.alerts import Alert, AlertSettings
    from emotion.live.monitor import Monitor
    from emotion.live.registry import Monitors
    from emotion.live.settings import LiveSettings

_LAZY = {
    "Alert": "emotion.live.alerts",
    "AlertSettings": "emotion.live.alerts",
    "LiveSettings": "emotion.live.settings",
    "Monitor": "emotion.live.monitor",
    "Monitors": "emotion.live.registry",
}
__all__ = ["Alert", "AlertSettings", "LiveSettings", "Monitor", "Monitors"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'emotion.live' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
