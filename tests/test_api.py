"""The HTTP API in-process (FastAPI's TestClient) with the fixture model: values, not just 200s."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from emotion.analysis import score
from emotion.classify import Classifier
from emotion.media.audio import load_audio
from service.config import ServeConfig
from service.main import create_app
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_clip, make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
EVENTS = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0)]
ANALYSIS = {"source": "stream.flac", "labels": "a whistle, clicking", "background": "silence"}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    write_media(folder / "stream.flac", make_vod(EVENTS, 100.0, SR, np.random.default_rng(3)), SR)
    rng = np.random.default_rng(7)
    write_media(folder / "whistle.mp3", make_clip("a whistle", 6.0, SR, rng), SR)
    (folder / "notes.txt").write_text("not audio at all\n")
    return folder


@pytest.fixture(scope="module")
def client(clap, media: Path, tmp_path_factory) -> Iterator[TestClient]:
    config = ServeConfig(media_roots=(media,), home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(config, clap)) as c:
        yield c


@pytest.fixture(scope="module")
def analysis_id(client: TestClient) -> str:
    created = client.post("/api/analyses", json=ANALYSIS)
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    deadline = time.monotonic() + 120
    while (status := client.get(f"/api/analyses/{job_id}").json())["status"] != "complete":
        assert status["status"] in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["progress"] == 1.0 and status["duration_s"] == pytest.approx(100.0, abs=0.1)
    return str(job_id)


def classify(client: TestClient, path: Path, labels: str, **form: str):
    with open(path, "rb") as f:
        return client.post(
            "/api/classify", files={"audio": (path.name, f)}, data={"labels": labels, **form}
        )


def test_classify_equals_the_cli(client: TestClient, media: Path) -> None:
    labels = "clicking, a whistle, a low hum"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "emotion",
            "classify",
            str(media / "whistle.mp3"),
            "--labels",
            labels,
            "--model",
            str(TINY_CLAP),
            "--device",
            "cpu",
            "--precision",
            "fp32",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    answer = classify(client, media / "whistle.mp3", labels, threshold="0.8")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["top_label"] == expected["top_label"] == "a whistle"
    assert list(body["scores"]) == ["clicking", "a whistle", "a low hum"]
    assert body["scores"] == expected["scores"]
    assert body["alert"] is (body["scores"]["a whistle"] >= 0.8)
    assert body["duration_s"] == pytest.approx(6.0, abs=0.05)


def test_match_equals_the_library(client: TestClient, clap, media: Path) -> None:
    expected = Classifier(clap).match(media / "whistle.mp3", "a whistle")
    with open(media / "whistle.mp3", "rb") as f:
        answer = client.post(
            "/api/match", files={"audio": ("w.mp3", f)}, data={"text": "a whistle"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"similarity": round(expected, 4)}


def test_health_and_model(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    model = client.get("/api/model").json()
    assert model["checkpoint"] == str(TINY_CLAP)
    assert (model["device"], model["precision"], model["state"]) == ("cpu", "fp32", "loaded")
    assert "swagger" in client.get("/docs").text.lower()
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/api/classify",
        "/api/match",
        "/api/analyses",
        "/api/analyses/{job_id}/highlights",
    }


@pytest.mark.parametrize(
    ("labels", "status", "words"),
    [
        ("", 422, "'labels': Field required"),
        (" ", 422, "No labels given"),
        ("a, , b", 422, "is blank"),
        ("a, A", 422, "given twice"),
        (",".join(f"l{i}" for i in range(51)), 413, "51 labels is more than"),
    ],
)
def test_bad_labels(client: TestClient, media: Path, labels: str, status: int, words: str) -> None:
    answer = classify(client, media / "whistle.mp3", labels)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_not_audio_and_empty_files_are_refused_without_paths(
    client: TestClient, media: Path, tmp_path: Path
) -> None:
    answer = classify(client, media / "notes.txt", "a, b")
    assert answer.status_code == 415
    error = answer.json()["error"]
    assert error.startswith("notes.txt is not a media file") and "/tmp" not in error
    (tmp_path / "empty.wav").write_bytes(b"")
    answer = classify(client, tmp_path / "empty.wav", "a, b")
    assert answer.status_code == 400 and "empty" in answer.json()["error"]


def test_analysis_finds_the_events_and_rescores(client: TestClient, analysis_id: str) -> None:
    found = client.get(f"/api/analyses/{analysis_id}/highlights").json()
    spans = {h["label"]: (h["start_s"], h["end_s"]) for h in found["highlights"]}
    assert set(spans) == {"a whistle", "clicking"}
    assert spans["clicking"][0] <= 22 and spans["clicking"][1] >= 30
    assert spans["a whistle"][0] <= 67 and spans["a whistle"][1] >= 70
    only = client.get(f"/api/analyses/{analysis_id}/highlights", params={"labels": "a whistle"})
    # Without "clicking" to go to, the clicks may now read as a whistle: only labels asked for.
    assert {h["label"] for h in only.json()["highlights"]} == {"a whistle"}
    assert any(h["start_s"] <= 67 and h["end_s"] >= 70 for h in only.json()["highlights"])
    strict = client.get(f"/api/analyses/{analysis_id}/highlights", params={"threshold": 0.999})
    assert len(strict.json()["highlights"]) < len(found["highlights"])
    listed = client.get("/api/analyses").json()
    assert [a["id"] for a in listed] == [analysis_id] and listed[0]["title"] == "stream"


def test_highlights_take_a_scale_and_per_prompt_thresholds(
    client: TestClient, analysis_id: str
) -> None:
    url = f"/api/analyses/{analysis_id}/highlights"
    body = client.get(url, params={"threshold": "0.5, a whistle=0.999"}).json()
    assert (body["scale"], body["threshold"], body["thresholds"]) == (
        "absolute",
        0.5,
        {"a whistle": 0.999},
    )
    assert {h["label"] for h in body["highlights"]} == {"clicking"}
    (clicks,) = body["highlights"]
    assert clicks["why"].startswith("clicking ") and clicks["relative"] > 4.0
    relative = client.get(url, params={"scale": "relative"}).json()
    assert (relative["scale"], relative["threshold"]) == ("relative", 4.0)
    assert {h["label"] for h in relative["highlights"]} == {"a whistle", "clicking"}
    csv = client.get(f"/api/analyses/{analysis_id}/exports/csv", params={"scale": "relative"})
    assert csv.status_code == 200 and csv.text.splitlines()[0].endswith(",usual,relative,why")
    for params, status, words in [
        ({"threshold": "a wistle=0.4"}, 422, 'No prompt is called "a wistle"'),  # as labels
        ({"threshold": "1.5"}, 400, "between 0 and 1"),
        ({"scale": "relative", "threshold": "-1"}, 400, "spreads above"),
        ({"threshold": "lots"}, 400, '"lots" is not a threshold'),
    ]:
        answer = client.get(url, params=params)
        assert answer.status_code == status, (params, answer.text)
        assert words in answer.json()["error"], answer.text


def test_every_export_parses(client: TestClient, analysis_id: str) -> None:
    def get(fmt: str) -> str:
        answer = client.get(f"/api/analyses/{analysis_id}/exports/{fmt}")
        assert answer.status_code == 200, answer.text
        return answer.text

    doc = json.loads(get("json"))
    assert sorted(h["label"] for h in doc["highlights"]) == ["a whistle", "clicking"]
    rows = list(csv.DictReader(io.StringIO(get("csv"))))
    assert sorted(r["label"] for r in rows) == ["a whistle", "clicking"]
    assert ET.fromstring(get("fcpxml")).tag == "fcpxml"
    assert get("srt").count(" --> ") == 2
    assert get("chapters").splitlines()[0].startswith("0:00")
    assert "TITLE:" in get("edl")
    assert client.get(f"/api/analyses/{analysis_id}/exports/pdf").status_code == 404


def test_unknown_and_refused_analyses(client: TestClient, media: Path) -> None:
    (media / "escape.flac").symlink_to("/etc/hostname")
    answer = client.get("/api/analyses/nope")
    assert answer.status_code == 404 and "no analysis 'nope'" in answer.json()["error"]
    for source, words in [
        ("file:///etc/passwd", "Only http(s) links"),
        ("http://127.0.0.1:9/vod.mp4", "loopback"),
        ("../outside.flac", "Paths with .."),
        ("/etc/hostname", "outside"),
        ("escape.flac", "outside"),  # a symlink out of the media folder
    ]:
        answer = client.post("/api/analyses", json={**ANALYSIS, "source": source})
        assert answer.status_code == 400, (source, answer.text)
        assert words in answer.json()["error"], answer.json()
        assert str(media) not in answer.json()["error"]
    answer = client.post(
        "/api/analyses", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]


def test_stream_gives_the_windows_and_numbers_of_the_analysis(
    client: TestClient, clap, media: Path, analysis_id: str
) -> None:
    audio = load_audio(media / "stream.flac", SR)  # what analyze decoded
    with client.websocket_connect("/api/stream") as ws:
        ws.send_text(
            json.dumps(
                {
                    "sample_rate": SR,
                    "format": "float32",
                    "labels": ANALYSIS["labels"],
                    "background": "silence",
                }
            )
        )
        assert ws.receive_json()["type"] == "ready"
        frame_n = SR // 2  # 500 ms frames
        for start in range(0, audio.size, frame_n):
            ws.send_bytes(audio[start : start + frame_n].astype("<f4").tobytes())
        ws.send_text(json.dumps({"type": "end"}))
        windows = []
        while (message := ws.receive_json())["type"] == "window":
            windows.append(message)
    assert message == {"type": "end", "windows": len(windows)}
    svc = client.app.state.service  # type: ignore[attr-defined]
    job = svc.runner.jobs.get(analysis_id)
    record = svc.store.analysis(job.analysis_id)
    analysed = score(
        record, svc.store.vectors(record), clap, ["a whistle", "clicking"], ["silence"]
    )
    assert [w["start_s"] for w in windows] == analysed.window_starts_s.tolist()
    streamed = np.array([list(w["scores"].values()) for w in windows])
    assert np.array_equal(streamed, analysed.scores.round(4))
    alerts = {w["top_label"] for w in windows if w["alert"]}
    assert alerts == {"a whistle", "clicking"}


def test_stream_takes_int16_at_another_rate(client: TestClient) -> None:
    """44.1 kHz int16, resampled by the server (the fixture model hears 16 kHz audio as silence)."""
    rng = np.random.default_rng(5)
    clip = np.concatenate(
        [make_clip("silence", 10.0, 44_100, rng), make_clip("a whistle", 10.0, 44_100, rng)]
    )
    with client.websocket_connect("/api/stream") as ws:
        ws.send_text(
            json.dumps(
                {
                    "sample_rate": 44_100,
                    "format": "int16",
                    "labels": ["a whistle", "clicking"],
                    "background": "silence",
                }
            )
        )
        assert ws.receive_json()["sample_rate"] == SR
        pcm = (clip * 32767).astype("<i2").tobytes()
        for start in range(0, len(pcm), 3_333 * 2):  # odd-sized frames
            ws.send_bytes(pcm[start : start + 3_333 * 2])
        ws.send_text('{"type": "end"}')
        windows = []
        while (message := ws.receive_json())["type"] == "window":
            windows.append(message)
    assert [w["start_s"] for w in windows] == [0.0, 5.0, 10.0]
    assert [w["alert"] for w in windows] == [False, True, True]
    assert windows[2]["top_label"] == "a whistle"


def test_a_key_is_required_when_set(clap, tmp_path: Path, media: Path) -> None:
    config = ServeConfig(api_key="s3cret", home=tmp_path, max_upload_bytes=64 * 1024)
    with TestClient(create_app(config, clap)) as c:
        assert c.get("/api/model").status_code == 401
        wrong = c.get("/api/model", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "API key" in wrong.json()["error"]
        assert c.get("/api/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200
        big = c.post(
            "/api/classify",
            headers={"Authorization": "Bearer s3cret"},
            files={"audio": ("big.wav", b"\0" * 100_000)},
            data={"labels": "a"},
        )
        assert big.status_code == 413 and "limit of 0.0625 MB" in big.json()["error"]
        chunked = c.post(
            "/api/classify",
            content=iter([b"x" * 40_000] * 3),  # no content-length: counted as it arrives
            headers={
                "Authorization": "Bearer s3cret",
                "content-type": "multipart/form-data; boundary=b",
            },
        )
        assert chunked.status_code == 413 and "limit" in chunked.json()["error"]


def test_job_cap_and_delete(clap, media: Path, tmp_path: Path) -> None:
    config = ServeConfig(media_roots=(media,), home=tmp_path, max_jobs=1)
    with TestClient(create_app(config, clap)) as c:
        first = c.post("/api/analyses", json=ANALYSIS)
        assert first.status_code == 202
        second = c.post("/api/analyses", json=ANALYSIS)
        assert second.status_code == 429 and "1 analyses are already" in second.json()["error"]
        job_id = first.json()["id"]
        assert c.delete(f"/api/analyses/{job_id}").status_code == 204
        assert c.get(f"/api/analyses/{job_id}").status_code == 404
        broken = c.post("/api/analyses", json={**ANALYSIS, "source": "notes.txt"}).json()["id"]
        deadline = time.monotonic() + 60
        while (status := c.get(f"/api/analyses/{broken}").json())["status"] != "failed":
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        assert status["error"].startswith("notes.txt is not a media file"), status
        assert str(media) not in status["error"]


def test_binding_beyond_loopback_needs_a_key() -> None:
    from emotion.errors import HypelineError

    with pytest.raises(HypelineError, match="set an API key"):
        ServeConfig(host="0.0.0.0").check()
    ServeConfig(host="0.0.0.0", api_key="k").check()
    ServeConfig(host="::1").check()
    with pytest.raises(HypelineError, match="--max-batch"):
        ServeConfig(max_batch=0).check()


def test_the_library_never_imports_the_web_framework() -> None:
    code = (
        "import sys, hypeline_cli.main, emotion.analysis, emotion.classify, emotion.export; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn', 'service.main')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
