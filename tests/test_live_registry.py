"""emotion.live.registry: the process's monitors, one batcher per model, a cap on streams."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from emotion.errors import BusyError
from emotion.library.store import Store
from emotion.live import LiveSettings, Monitors
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
SETTINGS = LiveSettings(labels=("a whistle", "a siren"), background=("silence",), realtime=True)


def test_a_cap_refuses_the_stream_beyond_it_even_when_starts_race(clap, tmp_path: Path) -> None:
    audio = make_vod([], 60.0, SR, np.random.default_rng(31))
    media = str(write_media(tmp_path / "long.wav", audio, SR))
    monitors = Monitors(Store(tmp_path / "home"))
    try:
        with ThreadPoolExecutor(4) as pool:  # four at once for two places
            tries = [pool.submit(monitors.start, media, SETTINGS, clap, limit=2) for _ in range(4)]
        refused = [t.exception() for t in tries if t.exception() is not None]
        assert len(refused) == 2 and all(isinstance(e, BusyError) for e in refused)
        assert str(refused[0]) == "2 streams are followed already; stop one first."
        running = [(i, m) for i, m in monitors.items() if m.running]
        assert len(running) == 2 and monitors.embedder(clap) is running[0][1].embedder
        with pytest.raises(BusyError):
            monitors.start(media, SETTINGS, clap, limit=2)
        assert monitors.stop(running[0][0])
        third_id, third = monitors.start(media, SETTINGS, clap, limit=2)  # a place is free again
        assert third.running and third_id > running[0][0]
        assert monitors.start(media, SETTINGS, clap)[1].running  # no limit: not capped
    finally:
        monitors.close()
