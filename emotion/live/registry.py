"""Every monitor of a process, for the faces that start and list them (dashboard, API).

One ``Monitors`` per process holds the monitors started through it, and one
``Batcher`` per loaded model, so monitors of one model batch their windows
together. Monitors run on their own threads, whoever started them, until their stream
ends or someone stops them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Collection
from typing import Any

from emotion.errors import BusyError
from emotion.library.store import Store
from emotion.live.alerts import Alert
from emotion.live.monitor import Monitor
from emotion.live.settings import LiveSettings
from emotion.media.netguard import Address
from emotion.model.batcher import Batcher
from emotion.model.clap import Clap

MAX_MONITORS = 8  # streams a server (the API, a shared dashboard) follows at once


class Monitors:
    """The process's monitors, by id (thread-safe)."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self._embedders: dict[int, Batcher] = {}  # by id() of the loaded model
        self._monitors: dict[int, Monitor] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._starting = 0  # starts under way (counted against a limit)

    def embedder(self, clap: Clap, **options: Any) -> Batcher:
        """The shared batcher of ``clap``, made on first use (with ``options``: ``max_batch``,
        ``wait_s``); the API's requests, its analyses and every monitor share it."""
        with self._lock:
            if id(clap) not in self._embedders:
                self._embedders[id(clap)] = Batcher(clap, **options)
            return self._embedders[id(clap)]

    def start(
        self,
        source: str,
        settings: LiveSettings,
        clap: Clap,
        on_alert: Callable[[Alert], None] | None = None,
        guard: Collection[Address] | None = None,
        limit: int | None = None,
    ) -> tuple[int, Monitor]:
        """Check ``source`` and start following it; a ``HypelineError`` when it cannot be.

        ``guard``: see ``Monitor``; ``limit``: how many may run at once (a ``BusyError``
        beyond it)."""
        with self._lock:  # the place is taken before the (slow) check, so no race passes it
            running = sum(m.running for m in self._monitors.values()) + self._starting
            if limit is not None and running >= limit:
                raise BusyError(f"{limit} streams are followed already; stop one first.")
            self._starting += 1
        try:
            monitor = Monitor(
                source, settings, self.embedder(clap), self.store, on_alert=on_alert, guard=guard
            )
            monitor.start()
            with self._lock:
                monitor_id = next(self._ids)
                self._monitors[monitor_id] = monitor
        finally:
            with self._lock:
                self._starting -= 1
        return monitor_id, monitor

    def get(self, monitor_id: int) -> Monitor | None:
        with self._lock:
            return self._monitors.get(monitor_id)

    def items(self) -> list[tuple[int, Monitor]]:
        """Every monitor, newest first."""
        with self._lock:
            return sorted(self._monitors.items(), reverse=True)

    def stop(self, monitor_id: int, timeout_s: float = 30.0) -> bool:
        """Stop one monitor and wait for its analysis to be finished; False if unknown."""
        monitor = self.get(monitor_id)
        if monitor is None:
            return False
        monitor.stop()
        monitor.join(timeout_s)
        return True

    def stop_all(self, timeout_s: float = 30.0) -> None:
        for _, monitor in self.items():
            monitor.stop()
        for _, monitor in self.items():
            monitor.join(timeout_s)

    def forget(self, monitor_id: int) -> None:
        """Drop a monitor that is no longer running from the list."""
        with self._lock:
            monitor = self._monitors.get(monitor_id)
            if monitor is not None and not monitor.running:
                del self._monitors[monitor_id]

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop every monitor (each finishes its analysis), then the batchers' threads."""
        self.stop_all(timeout_s)
        with self._lock:
            embedders, self._embedders = list(self._embedders.values()), {}
        for batcher in embedders:
            batcher.close()
