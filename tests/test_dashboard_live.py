"""The Live page headless (AppTest): start a monitor, see its alert, stop it, find the analysis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion.chat.lag import LAG_DEFAULT_S
from emotion.clock import clock
from emotion.library.store import Store
from tests.conftest import TINY_CLAP
from tests.ircserver import IrcServer
from tests.media import write_media
from tests.synth import make_vod
from ui.prompt_rows import Prompt, seed

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
SR = 48_000
PROMPTS = [
    Prompt("clicking", "#EF553B"),
    Prompt("a whistle", "#636EFA"),
    Prompt("silence", "#9E9E9E", background=True),
]


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
    prompts = [
        Prompt("clicking", "#FF1493"),
        Prompt("a whistle", "#2CA02C"),
        Prompt("silence", "#8C564B", background=True),
    ]
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


def _live_page(prompts: list[Prompt]) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    seed(at.session_state, prompts)
    at.run()
    at.switch_page("pages/live.py").run()
    assert not at.exception, at.exception
    return at


def test_the_chat_toggle_shows_its_fields_and_bad_chat_starts_nothing(home: Path) -> None:
    from ui import live

    live.registry.clear()
    at = _live_page(PROMPTS)
    assert "live_chat_channel" not in [w.key for w in at.text_input]  # no chat fields while off
    at.text_input(key="live_url").input("https://www.twitch.tv/SomeStreamer")
    at.toggle(key="live_chat").set_value(True).run()
    assert not at.exception, at.exception
    channel = at.text_input(key="live_chat_channel")
    assert channel.value == "" and channel.proto.placeholder == "somestreamer"  # the link's
    assert at.number_input(key="live_chat_lag").value == LAG_DEFAULT_S
    assert at.number_input(key="live_chat_needs").value is None  # off
    assert "Counted in chat: KEKW, LUL" in " ".join(c.value for c in at.caption)

    refusals = []
    for link, name, needs in [
        ("https://www.twitch.tv/SomeStreamer", "no spaces", None),
        ("https://www.twitch.tv/SomeStreamer", "irc.example.net:6667", None),  # only a name
        ("https://example.com/live.m3u8", "", None),  # no channel in the link, none typed
        ("https://www.twitch.tv/SomeStreamer", "", -1.0),
    ]:
        at.text_input(key="live_url").input(link)
        at.text_input(key="live_chat_channel").input(name)
        at.number_input(key="live_chat_needs").set_value(needs)
        at.button(key="live_start").click().run()
        assert not at.exception, at.exception
        (error,) = at.error
        refusals.append(error.value)
    assert "'no spaces' is not a Twitch channel name" in refusals[0]
    assert "'irc.example.net:6667' is not a Twitch channel name" in refusals[1]
    assert refusals[2] == (
        "https://example.com/live.m3u8 is not a twitch.tv channel link, so its chat is "
        "unknown; name the channel with the Channel field."
    )
    assert "usual rate" in refusals[3]
    assert live.registry().items() == []  # nothing started


def test_a_monitor_with_chat_shows_the_chat_and_each_alerts_answer(
    home: Path, tmp_path: Path, monkeypatch
) -> None:
    from ui import live

    live.registry.clear()
    audio = make_vod([("clicking", 1.0, 7.0)], 9.0, SR, np.random.default_rng(8))
    media = write_media(tmp_path / "stream.flac", audio, SR)
    with IrcServer() as irc:
        monkeypatch.setenv("HYPELINE_TWITCH_IRC", irc.address)
        at = _live_page(PROMPTS)
        at.sidebar.text_input(key="chat_keywords").input("clip it, hype train")
        at.text_input(key="live_url").input(str(media))
        at.checkbox(key="live_realtime").check()
        at.toggle(key="live_chat").set_value(True).run()
        at.text_input(key="live_chat_channel").input("HypeChannel")
        at.number_input(key="live_chat_lag").set_value(0.0)
        at.button(key="live_start").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        ((monitor_id, monitor),) = live.registry().items()
        chat = monitor.settings.chat
        assert chat is not None and chat.channel == "hypechannel"  # as Twitch spells it
        assert (chat.lag_s, chat.needs) == (0.0, None)
        assert chat.keywords == ("clip it", "hype train") and chat.endpoint.port == irc.port
        irc.wait_for_join("hypechannel")
        # inside the answer of an alert at 0, 2.5 or 5 s (its 10 s from the moment, lag 0)
        deadline = time.monotonic() + 30
        while (monitor.clock.at() or 0.0) < 5.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        for k in range(5):
            assert irc.say("hypechannel", "hype train incoming", author=f"fan{k}") == 1
        while monitor.chat.n_messages < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert monitor.running and monitor.n_alerts == 0  # held for chat's answer
        at.run()
        text = " ".join(m.value for m in at.markdown)
        assert (
            "#hypechannel chat · :green[:material/radio_button_checked:] connected · 5 messages read"
            in text
        ), text
        while monitor.n_alerts == 0 and time.monotonic() < deadline + 30:
            time.sleep(0.2)
        (alert,) = monitor.alerts
        assert (
            alert.chat is not None
            and alert.chat.messages == 5
            and alert.chat.top == ("hype train",)
        )
        at.run()
        text = " ".join(m.value for m in at.markdown)
        assert f"**clicking** at {clock(alert.stream_time_s)}" in text, text
        # its answer said as a highlight's chat is, partly read: no usual rate before 10 s
        said = f"chat ×{alert.chat.rate_vs_baseline:.1f}, 5 messages, hype train (partly read)"
        assert not alert.chat.complete and alert.chat.why() == said
        assert f"UTC · {said}" in text, text
        assert monitor.join(30)
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "#hypechannel chat · :gray[:material/stop_circle:] closed · 5 messages read" in text, (
        text
    )
    live.registry().forget(monitor_id)
