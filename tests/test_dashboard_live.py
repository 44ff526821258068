"""The Live page headless (AppTest): start a monitor, see its alert, stop it, find the analysis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion.library.store import Store
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from ui.prompt_rows import Prompt, seed

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
SR = 48_000
PROMPTS = [Prompt("clicking", "#EF553B"), Prompt("a whistle", "#636EFA"),
           Prompt("silence", "#9E9E9E", background=True)]  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return tmp_path / "home"


def test_a_monitor_started_on_the_page_alerts_and_stops_into_the_library(
    home: Path, tmp_path: Path
) -> None:
    from ui import live

    live.registry.clear()  # a fresh registry (and store) for this test's home
    audio = make_vod([("clicking", 2.0, 9.0)], 16.0, SR, np.random.default_rng(8))
    media = write_media(tmp_path / "stream.flac", audio, SR)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    seed(at.session_state, PROMPTS)
    at.run()
    at.switch_page("pages/live.py").run()
    assert not at.exception, at.exception
    assert "No monitor is running" in at.info[0].value
    at.text_input(key="live_url").input(str(media))
    at.checkbox(key="live_realtime").check()
    at.sidebar.number_input(key="live_cooldown").set_value(60)
    at.button(key="live_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ((monitor_id, monitor),) = live.registry().items()
    assert monitor.settings.alerts.cooldown_s == 60 and monitor.labels == ["clicking", "a whistle"]
    deadline = time.monotonic() + 60
    while monitor.n_alerts == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "**clicking** at 0:0" in text, text  # the alert feed
    assert [t.value for t in at.toast][-1].startswith("clicking at 0:0")
    assert any("connected" in m.value or "ended" in m.value for m in at.markdown)
    at.button(key=f"live_stop_{monitor_id}").click().run()
    assert not at.exception
    assert not monitor.running and monitor.state in ("stopped", "ended")
    (record,) = Store(home).analyses()
    assert record.complete and record.kind == "live" and record.n_done >= 1
    assert record.source.path.is_file()  # the recording, for play-from-here and clips
    at.run()
    assert at.button(key=f"live_play_{monitor_id}_0")  # play from the alert
    at.button(key=f"live_play_{monitor_id}_0").click().run()
    assert at.get("audio"), "no player"
    live.registry().forget(monitor_id)


def test_the_live_timeline_draws_each_prompt_in_the_sidebars_color(
    home: Path, tmp_path: Path
) -> None:
    from ui import live

    live.registry.clear()
    prompts = [Prompt("clicking", "#FF1493"), Prompt("a whistle", "#2CA02C"),
               Prompt("silence", "#8C564B", background=True)]  # fmt: skip
    audio = make_vod([("clicking", 2.0, 8.0)], 12.0, SR, np.random.default_rng(3))
    media = write_media(tmp_path / "stream.flac", audio, SR)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    seed(at.session_state, prompts)
    at.run()
    at.switch_page("pages/live.py").run()
    at.text_input(key="live_url").input(str(media))
    at.checkbox(key="live_realtime").check()
    at.button(key="live_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ((monitor_id, monitor),) = live.registry().items()
    assert monitor.join(60) and monitor.timeline
    at.run()
    assert not at.exception, at.exception
    (chart,) = [c for c in at.get("plotly_chart") if f"live_chart_{monitor_id}" in c.proto.id]
    traces = json.loads(chart.proto.spec)["data"]
    colors = {t["name"]: t["line"]["color"] for t in traces}
    assert colors == {
        "clicking": "#FF1493",
        "a whistle": "#2CA02C",
        "silence (background)": "#8C564B",
    }
    # on Analyze's clock: each point at its cell's midpoint
    first = min(traces[0]["x"])
    assert first.startswith("1970-01-01T00:00:01.25"), first
    live.registry().forget(monitor_id)
