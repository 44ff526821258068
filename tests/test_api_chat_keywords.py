"""The API's chat_keywords (service/routers/analyses.py): counted from the stored chat."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.config import ServeConfig
from service.main import create_app
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
EVENTS = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0)]


@pytest.fixture(scope="module")
def client(clap, tmp_path_factory) -> Iterator[TestClient]:
    media = tmp_path_factory.mktemp("media")
    write_media(media / "stream.flac", make_vod(EVENTS, 100.0, SR, np.random.default_rng(3)), SR)
    rows = [f"{t + 0.5},viewer{t},hi" for t in range(0, 100, 5)]
    rows += [f"{30.0 + i * 0.2:.1f},fan{i},catJAM KEKW" for i in range(30)]  # after the clicking
    (media / "chat.csv").write_text("time_s,author,text\n" + "\n".join(rows) + "\n")
    config = ServeConfig(media_roots=(media,), home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(config, clap)) as c:
        yield c


@pytest.fixture(scope="module")
def job_id(client: TestClient) -> str:
    body = {
        "source": "stream.flac",
        "labels": "a whistle, clicking",
        "background": "silence",
        "chat": "chat.csv",
    }
    created = client.post("/api/analyses", json=body)
    assert created.status_code == 202, created.text
    job = created.json()["id"]
    deadline = time.monotonic() + 120
    while (status := client.get(f"/api/analyses/{job}").json())["status"] != "complete":
        assert status["status"] in ("queued", "running") and time.monotonic() < deadline, status
        time.sleep(0.1)
    return str(job)


def test_highlights_name_the_chat_keywords_asked_for(client: TestClient, job_id: str) -> None:
    def clicking_top(**query: str) -> list[str]:
        answer = client.get(f"/api/analyses/{job_id}/highlights", params=query)
        assert answer.status_code == 200, answer.text
        (clicking,) = [h for h in answer.json()["highlights"] if h["label"] == "clicking"]
        return clicking["chat"]["top"]

    assert clicking_top() == ["KEKW"]  # the default list
    assert clicking_top(chat_keywords="catJAM, KEKW") == ["KEKW", "catJAM"]  # ties by name
    assert clicking_top(chat_keywords="catJAM") == ["catJAM"]


def test_bad_chat_keywords_are_one_sentence(client: TestClient, job_id: str) -> None:
    answer = client.get(
        f"/api/analyses/{job_id}/highlights", params={"chat_keywords": "catJAM, no way out"}
    )
    assert answer.status_code == 400
    assert "'no way out' has 3 words" in answer.text and "Traceback" not in answer.text
