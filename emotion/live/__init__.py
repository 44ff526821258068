"""The live monitor: follow a stream as it happens, alert on its moments, keep it as an analysis.

``ingest`` (supervised ffmpeg) → ``grid`` (windows with gaps) → ``emotion.model.batcher`` (one
model, shared batches) → ``monitor`` (store, alerts, recording) → ``alerts`` / ``webhooks``;
``registry`` holds a process's monitors for the dashboard and the API.
"""

from emotion.live.alerts import Alert, AlertSettings
from emotion.live.monitor import LiveSettings, Monitor
from emotion.live.registry import Monitors

__all__ = ["Alert", "AlertSettings", "LiveSettings", "Monitor", "Monitors"]
