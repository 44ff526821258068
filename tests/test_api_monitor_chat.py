"""The API's live monitors with a channel's Twitch chat (a loopback IRC server), in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.config import ServeConfig
from service.main import create_app
from tests.ircserver import IrcServer
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
STREAM_S = 16.0  # clicking at 2–9 s: one alert within its first 9 s (tests/test_api_library.py)
QUIET_S = 26.0  # clicking at 17–23 s: an alert past chat's first 10 s, so its answer is complete
LABELS = ["clicking", "a whistle"]
WAIT_S = 60.0  # past the stream's length, a monitor that has not ended fails the test


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    stream = make_vod([("clicking", 2.0, 9.0)], STREAM_S, SR, np.random.default_rng(8))
    write_media(folder / "stream.flac", stream, SR)
    quiet = make_vod([("clicking", 17.0, 23.0)], QUIET_S, SR, np.random.default_rng(8))
    for name in ("quiet-a.flac", "quiet-b.flac"):  # one analysis per file: two monitors at once
        write_media(folder / name, quiet, SR)
    return folder


@pytest.fixture(scope="module")
def client(clap, media: Path, tmp_path_factory) -> Iterator[TestClient]:
    config = ServeConfig(media_roots=(media,), home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(config, clap)) as c:
        yield c


def _monitor(client: TestClient, **fields: object) -> int:
    body = {
        "labels": LABELS,
        "background": ["silence"],
        "realtime": True,
        "cooldown_s": 60,
        **fields,
    }
    created = client.post("/api/monitors", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _alerts(client: TestClient, monitor_id: int) -> list[dict]:
    """The ``alert`` events of a monitor that has ended (the event stream replays them)."""
    alerts, kind = [], ""
    with client.stream("GET", f"/api/monitors/{monitor_id}/events") as events:
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "alert":
                alerts.append(json.loads(line.removeprefix("data: ")))
    return alerts


@pytest.mark.slow  # a 16 s file read in real time: chat answers on the wall clock
def test_an_alert_carries_chat_s_answer_and_the_status_the_chat(
    client: TestClient, monkeypatch
) -> None:
    with IrcServer() as irc:
        monkeypatch.setenv("HYPELINE_TWITCH_IRC", irc.address)
        monitor_id = _monitor(
            client,
            source="stream.flac",
            chat="twitch:HypeChannel",
            chat_lag_s=1,
            chat_keywords=["catJAM", "KEKW"],
        )
        irc.wait_for_join("hypechannel")
        # A burst after the clicking starts, on the stream's clock (three messages every
        # half second from 2 s to 13 s): whatever cell fires, its 10 s after the lag has chat.
        sent, during, started = 0, None, time.monotonic()
        while (status := client.get(f"/api/monitors/{monitor_id}").json())["running"]:
            assert time.monotonic() - started < STREAM_S + WAIT_S, status
            if 2.0 <= status["stream_s"] < 13.0:
                irc.say("hypechannel", "catJAM KEKW", author=f"fan{sent}")
                irc.say("hypechannel", "KEKW catJAM", author=f"fan{sent + 1}")
                irc.say("hypechannel", "Kappa KEKW", author=f"fan{sent + 2}", emotes="25:0-4")
                sent += 3
            elif status["stream_s"] >= 13.0 and during is None:
                during = status["chat"]  # the burst is over, the monitor still reads
            time.sleep(0.5)
    assert during is not None, status
    assert during["channel"] == "hypechannel" and during["state"] == "connected", during
    assert during["connected"] and 0 < during["messages"] <= sent, during
    assert during["messages_per_10s"] > 0 and during["usual_per_10s"] >= 1.0, during
    assert status["state"] == "ended" and status["alerts"] == 1, status
    assert sent >= 30 and status["chat"]["messages"] == sent, (sent, status["chat"])
    (alert,) = _alerts(client, monitor_id)
    assert alert["label"] == "clicking" and alert["stream_time_s"] <= 9.0, alert
    chat = alert["chat"]
    assert chat["channel"] == "hypechannel" and chat["lag_s"] == 1.0, chat
    assert 0 < chat["messages"] <= sent and chat["rate_vs_baseline"] > 1.0, chat
    # every message says KEKW, two of three catJAM (asked for: not a default keyword), one
    # of three the Kappa emote (from the message's tags)
    assert chat["top"] == ["KEKW", "catJAM", "Kappa"], chat


@pytest.mark.slow  # two 26 s files read in real time at once
def test_alert_needs_chat_holds_back_an_alert_chat_did_not_answer(
    client: TestClient, monkeypatch
) -> None:
    # Two monitors of the same sound on a silent channel: the one without the rule alerts,
    # with chat's complete answer (no messages); the one with alert_needs_chat 2 does not.
    with IrcServer() as irc:
        monkeypatch.setenv("HYPELINE_TWITCH_IRC", irc.address)
        chat = {"chat": "twitch:quietchannel", "chat_lag_s": 0}
        held = _monitor(client, source="quiet-a.flac", alert_needs_chat=2, **chat)
        sent = _monitor(client, source="quiet-b.flac", **chat)
        irc.wait_for_join("quietchannel", count=2)
        started = time.monotonic()
        while any(client.get(f"/api/monitors/{i}").json()["running"] for i in (held, sent)):
            assert time.monotonic() - started < QUIET_S + WAIT_S
            time.sleep(0.5)
    (alert,) = _alerts(client, sent)
    assert alert["label"] == "clicking" and alert["stream_time_s"] >= 10.0, alert
    answer = alert["chat"]
    assert answer["complete"] and answer["messages"] == 0, answer
    assert answer["rate_vs_baseline"] < 2 and answer["channel"] == "quietchannel", answer
    assert _alerts(client, held) == []
    status = client.get(f"/api/monitors/{held}").json()
    assert status["state"] == "ended" and status["alerts"] == 0, status
    assert status["chat"]["channel"] == "quietchannel" and status["chat"]["messages"] == 0


BODY = {"source": "stream.flac", "labels": "clicking", "realtime": True}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"chat": "youtube"}, ["Twitch only", '"twitch:CHANNEL"', "(chat)"]),
        ({"chat": "twitch"}, ["not a twitch.tv channel link", '"twitch:CHANNEL"', "(chat)"]),
        ({"chat": "twitch:no spaces"}, ["not a Twitch channel name", "(chat)"]),
        ({"alert_needs_chat": 2}, ["'alert_needs_chat'", 'add "chat": "twitch"']),
        ({"chat_keywords": "KEKW"}, ["'chat_keywords' are counted in chat", 'add "chat"']),
        (
            {"chat": "twitch:hype", "chat_keywords": "catJAM, no way out"},
            ["'no way out' has 3 words", "(chat_keywords)"],
        ),
        (
            {"chat": "twitch:hype", "chat_keywords": ["KEKW", " "]},
            ["remove the blank ones", "(chat_keywords)"],
        ),
        ({"chat": "twitch:hype", "chat_lag_s": 99}, ["'chat_lag_s'", "30"]),
        ({"chat": "twitch:hype", "alert_needs_chat": -1}, ["'alert_needs_chat'"]),
        ({"chat": 7}, ["'chat'"]),
    ],
)
def test_bad_chat_is_refused_in_one_sentence(
    client: TestClient, fields: dict, says: list[str]
) -> None:
    before = len(client.get("/api/monitors").json())
    answer = client.post("/api/monitors", json={**BODY, **fields})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert all(s in error for s in says) and "Traceback" not in error, error
    assert len(client.get("/api/monitors").json()) == before


def test_a_server_without_a_usable_chat_address_says_so(client: TestClient, monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_TWITCH_IRC", "nowhere")
    answer = client.post("/api/monitors", json={**BODY, "chat": "twitch:hype"})
    assert answer.status_code == 422, answer.text
    assert "HYPELINE_TWITCH_IRC='nowhere' is not an IRC address" in answer.json()["error"]


def test_a_monitor_without_chat_has_no_chat_in_its_status(client: TestClient) -> None:
    monitor_id = _monitor(client, source="stream.flac")
    status = client.get(f"/api/monitors/{monitor_id}").json()
    assert "chat" not in status and status["source"].endswith("stream.flac"), status
    assert client.delete(f"/api/monitors/{monitor_id}").status_code == 204
    status = client.get(f"/api/monitors/{monitor_id}").json()
    assert not status["running"] and "chat" not in status, status
