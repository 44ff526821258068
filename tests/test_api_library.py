"""The API's library-wide search and live monitors, in-process, with the fixture model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from emotion.library.store import Store
from service.config import ServeConfig
from service.main import create_app
from tests.library import analysed_library, events_of
from tests.media import write_media
from tests.synth import make_clip, make_vod

SR = 48_000
MONITOR_S = 16.0


@pytest.fixture(scope="module")
def library(clap, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    return analysed_library(clap, tmp_path_factory)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(11)
    write_media(folder / "siren.wav", make_clip("a siren", 8.0, SR, rng), SR)
    stream = make_vod([("clicking", 2.0, 9.0)], MONITOR_S, SR, np.random.default_rng(8))
    write_media(folder / "stream.flac", stream, SR)
    return folder


@pytest.fixture(scope="module")
def client(clap, library, media: Path) -> Iterator[TestClient]:
    config = ServeConfig(media_roots=(media,), home=library[0])
    with TestClient(create_app(config, clap)) as c:
        yield c


def _inside(hit: dict, events: list[tuple[int, float, float]]) -> bool:
    return any(
        hit["analysis_id"] == vod and start_s <= hit["best_start_s"] + 5.0 <= end_s
        for vod, start_s, end_s in events
    )


@pytest.mark.parametrize("sound", ["a whistle", "a siren", "clicking", "hissing"])
def test_a_text_search_finds_that_sound_first(client: TestClient, library, sound: str) -> None:
    answer = client.get("/api/search", params={"q": sound, "top": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["query"] == sound and 1 <= len(body["hits"]) <= 5
    first = body["hits"][0]
    assert _inside(first, events_of(sound, library[1])), (first, events_of(sound, library[1]))
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1


def test_an_example_clip_finds_both_sirens_first(client: TestClient, library, media) -> None:
    with open(media / "siren.wav", "rb") as f:
        answer = client.post("/api/search", files={"audio": ("siren.wav", f)}, data={"top": "3"})
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    sirens = events_of("a siren", library[1])
    assert all(_inside(h, sirens) for h in hits[:2]), hits
    assert {h["analysis_id"] for h in hits[:2]} == {vod for vod, _, _ in sirens}


def test_a_search_leaves_out_moments_below_its_floor(client: TestClient, library) -> None:
    def scores(**params: object) -> list[float]:
        answer = client.get("/api/search", params={"q": "a whistle", "top": 100, **params})
        assert answer.status_code == 200, answer.text
        return [h["score"] for h in answer.json()["hits"]]

    everything, floored, high = scores(min_score=-1), scores(), scores(min_score=0.3)
    assert min(everything) < 0.0 <= min(floored) and min(high) >= 0.3
    assert len(high) < len(floored) < len(everything)


def test_search_can_be_limited_to_some_vods(client: TestClient, library) -> None:
    friday = library[1]["Friday Stream"]
    hits = client.get("/api/search", params={"q": "a whistle", "vod": friday}).json()["hits"]
    assert hits and {h["analysis_id"] for h in hits} == {friday}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": "   "}, 400),
        ({"q": "a siren", "top": 0}, 422),
        ({}, 422),
        ({"q": "a siren", "vod": "x"}, 422),
    ],
)
def test_bad_searches_are_one_sentence(client: TestClient, params: dict, status: int) -> None:
    answer = client.get("/api/search", params=params)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error.endswith(".") and "Traceback" not in error


def test_a_monitor_alerts_over_server_sent_events_and_stays_in_the_library(
    client: TestClient, library, media: Path
) -> None:
    request = {
        "source": "stream.flac",
        "labels": ["clicking", "a whistle"],
        "background": ["silence"],
        "realtime": True,
        "cooldown_s": 60,
    }
    created = client.post("/api/monitors", json=request)
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]
    assert client.get(f"/api/monitors/{monitor_id}").json()["source"].endswith("stream.flac")
    kinds: list[str] = []
    alerts, scores = [], []
    started = time.monotonic()
    with client.stream("GET", f"/api/monitors/{monitor_id}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in events.iter_lines():
            assert time.monotonic() - started < MONITOR_S + 60, kinds
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
                kinds.append(kind)
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                (alerts if kind == "alert" else scores if kind == "scores" else []).append(data)
    # The stream ends with the monitor (the file's end is the stream's end).
    assert kinds[0] == "state" and "alert" in kinds, kinds
    (alert,) = alerts
    assert alert["label"] == "clicking" and alert["stream_time_s"] <= 9.0, alert
    assert alert["type"] == "alert" and alert["score"] >= 0.5
    assert scores and set(scores[0]["scores"]) == {"clicking", "a whistle", "silence"}
    assert sum(scores[0]["scores"].values()) == pytest.approx(1.0, abs=1e-4)
    status = client.get(f"/api/monitors/{monitor_id}").json()
    assert not status["running"] and status["alerts"] == 1 and status["state"] == "ended"
    record = Store(library[0]).analysis(status["analysis_id"])
    assert record.kind == "live" and record.complete
    assert client.delete(f"/api/monitors/{monitor_id}").status_code == 204
    listed = client.get("/api/monitors").json()
    assert [m["id"] for m in listed].count(monitor_id) == 1


@pytest.mark.parametrize(
    ("request_body", "status", "says"),
    [
        ({"source": "stream.flac", "labels": "clicking"}, 400, "not a live stream"),
        ({"source": "../stream.flac", "labels": "clicking", "realtime": True}, 400, ""),
        ({"source": "file:///etc/passwd", "labels": "clicking"}, 400, "http(s)"),
        ({"source": "stream.flac", "labels": "", "realtime": True}, 422, ""),
        ({"source": "stream.flac", "labels": "x", "threshold": 2}, 422, ""),
    ],
)
def test_bad_monitors_are_refused_in_one_sentence(
    client: TestClient, request_body: dict, status: int, says: str
) -> None:
    before = len(client.get("/api/monitors").json())
    answer = client.post("/api/monitors", json=request_body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert says in error and error.endswith(".") and "/tmp" not in error, error
    assert len(client.get("/api/monitors").json()) == before


def test_an_unknown_monitor_is_404(client: TestClient) -> None:
    for method in ("get", "delete"):
        answer = getattr(client, method)("/api/monitors/999")
        assert answer.status_code == 404 and "no monitor 999" in answer.json()["error"]
