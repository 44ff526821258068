"""A real ``python -m emotion serve`` on 127.0.0.1: bad input, load, and ``kill -9`` mid-analysis."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from emotion.analysis import embed_source, score
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from tests.apiserver import REPO, ApiServer
from tests.media import write_media
from tests.running import n_done
from tests.synth import make_clip, make_vod

SR = 48_000
KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
CLASSES = ["a whistle", "a siren", "clicking", "hissing", "rumbling"]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(11)
    for i, caption in enumerate(CLASSES):
        write_media(folder / f"clip{i}.wav", make_clip(caption, 2.0, SR, rng), SR)
    write_media(
        folder / "clip.mp4",
        make_clip("a siren", 4.0, SR, rng),
        SR,
        audio_args=("-c:a", "aac"),
        video=True,
    )
    (folder / "notes.txt").write_text("not audio\n")
    return folder


@pytest.fixture(scope="module")
def server(media: Path, tmp_path_factory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("home")
    args = ("--api-key", KEY, "--media-root", str(media), "--max-upload-mb", "1")
    with ApiServer(home, *args) as s:
        yield s


def upload(
    server: ApiServer,
    name: str,
    data: bytes,
    labels: str | None = "a, b",
    headers: dict[str, str] = AUTH,
    **fields: str,
) -> httpx.Response:
    form = {"labels": labels, **fields} if labels is not None else fields
    return httpx.post(
        server.url + "/api/classify",
        headers=headers,
        files={"audio": (name, data)},
        data=form,
        timeout=60,
    )


def test_bad_input_corpus_gets_sentences_and_the_server_keeps_serving(
    server: ApiServer, media: Path
) -> None:
    wav = (media / "clip0.wav").read_bytes()
    mp4 = (media / "clip.mp4").read_bytes()
    api = server.url + "/api"

    def analyses(body: object, raw: bytes | None = None) -> httpx.Response:
        if raw is not None:
            return httpx.post(
                api + "/analyses",
                content=raw,
                timeout=30,
                headers={**AUTH, "content-type": "application/json"},
            )
        return httpx.post(api + "/analyses", json=body, headers=AUTH, timeout=30)

    job = {"source": "clip0.wav", "labels": "a whistle"}
    cases: list[tuple[str, httpx.Response, int]] = [
        ("not audio", upload(server, "notes.txt", b"not audio\n" * 10), 415),
        ("empty file", upload(server, "empty.wav", b""), 400),
        ("truncated media", upload(server, "cut.mp4", mp4[: len(mp4) // 3]), 415),
        ("over the upload limit", upload(server, "big.wav", b"\0" * (2 * 1024 * 1024)), 413),
        ("missing labels", upload(server, "a.wav", wav, labels=None), 422),
        ("blank labels", upload(server, "a.wav", wav, labels=" , "), 422),
        ("duplicate labels", upload(server, "a.wav", wav, labels="hum, Hum"), 422),
        ("overlong label", upload(server, "a.wav", wav, labels="very " * 400), 422),
        (
            "too many labels",
            upload(server, "a.wav", wav, labels=",".join(map(str, range(60)))),
            413,
        ),
        ("control character", upload(server, "a.wav", wav, labels="a\x1b[31m"), 422),
        ("missing key", upload(server, "a.wav", wav, headers={}), 401),
        ("wrong key", upload(server, "a.wav", wav, headers={"Authorization": "Bearer x"}), 401),
        ("bad JSON", analyses(None, raw=b'{"source": '), 400),
        ("JSON not an object", analyses([1, 2]), 422),
        ("unknown field", analyses({**job, "evil": 1}), 422),
        ("negative window", analyses({**job, "window_s": -1}), 422),
        ("hop over window", analyses({**job, "window_s": 2, "hop_s": 5}), 400),
        ("file:// source", analyses({**job, "source": "file:///etc/passwd"}), 400),
        ("private-address URL", analyses({**job, "source": "http://10.1.2.3/v.mp4"}), 400),
        ("loopback URL", analyses({**job, "source": f"{server.url}/healthz"}), 400),
        ("path outside media root", analyses({**job, "source": "/etc/hostname"}), 400),
        ("dot-dot path", analyses({**job, "source": "../x.wav"}), 400),
        ("unknown id", httpx.get(api + "/analyses/abc", headers=AUTH), 404),
        ("unknown export", httpx.get(api + "/analyses/abc/exports/pdf", headers=AUTH), 404),
        ("bad threshold", upload(server, "a.wav", wav, threshold="2"), 422),
        ("unknown path", httpx.get(api + "/nothing", headers=AUTH), 404),
        ("wrong method", httpx.get(api + "/classify", headers=AUTH), 405),
    ]
    for what, answer, status in cases:
        assert answer.status_code == status, (what, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert error.endswith(".") and len(error) > 20, (what, error)
        assert "Traceback" not in error and str(server.home) not in error, (what, error)
    assert len(cases) >= 20

    for frames in (
        [b"\x00\x01garbage"],
        ['{"sample_rate": 48000, "labels": "a"}', b"\x01\x02\x03"],
    ):
        with connect(
            server.url.replace("http", "ws") + "/api/stream", additional_headers=AUTH
        ) as ws:
            for frame in frames:
                ws.send(frame)
            replies = []
            with contextlib.suppress(ConnectionClosed):  # the server closes with 1003
                while True:
                    replies.append(json.loads(ws.recv(timeout=30)))
            assert ws.close_code == 1003
        assert replies[-1]["type"] == "error" and replies[-1]["error"].endswith("."), replies

    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert upload(server, "a.wav", wav, labels="a whistle, a siren").status_code == 200


@pytest.mark.slow
def test_load_20_clients_x_25_requests_equal_the_sequential_answers(
    server: ApiServer, media: Path
) -> None:
    clips = [(media / f"clip{i}.wav").read_bytes() for i in range(len(CLASSES))]
    labels = ", ".join(CLASSES)
    expected = []
    for i, data in enumerate(clips):
        answer = upload(server, f"clip{i}.wav", data, labels=labels)
        assert answer.status_code == 200, answer.text
        expected.append(answer.json())
    assert [e["top_label"] for e in expected] == CLASSES

    def client(c: int) -> list[tuple[int, int, dict[str, object]]]:
        out = []
        with httpx.Client(timeout=120, headers=AUTH) as http:
            for r in range(25):
                i = (c + r) % len(clips)
                answer = http.post(
                    server.url + "/api/classify",
                    data={"labels": labels},
                    files={"audio": (f"clip{i}.wav", clips[i])},
                )
                out.append((i, answer.status_code, answer.json()))
        return out

    with ThreadPoolExecutor(20) as pool:
        results = [r for rs in pool.map(client, range(20)) for r in rs]
    assert len(results) == 500
    assert [status for _, status, _ in results] == [200] * 500
    assert all(body == expected[i] for i, _, body in results)
    model = httpx.get(server.url + "/api/model", headers=AUTH).json()
    assert model["batches"] < model["clips"]  # concurrent requests shared forward passes


@pytest.mark.slow
def test_kill_9_mid_analysis_then_restart_completes_with_the_same_result(
    clap, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    events = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0)]
    write_media(media / "long.flac", make_vod(events, 900.0, SR, np.random.default_rng(4)), SR)
    labels, background = ["a whistle", "clicking"], ["silence"]

    home = tmp_path / "home"
    home.mkdir()
    server = ApiServer(home, "--media-root", str(media)).start()
    try:
        body = {"source": "long.flac", "labels": labels, "background": background}
        job_id = httpx.post(server.url + "/api/analyses", json=body).json()["id"]
        deadline = time.monotonic() + 120
        while not any(n_done(home).values()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.kill()
    finally:
        server.stop()
    stored = sum(n_done(home).values())
    assert 0 < stored < 180, stored  # killed mid-analysis

    with ApiServer(home, "--media-root", str(media), port=server.port) as again:
        deadline = time.monotonic() + 300
        while (status := httpx.get(f"{again.url}/api/analyses/{job_id}").json())[
            "status"
        ] != "complete":
            assert status["status"] in ("queued", "running"), status
            assert time.monotonic() < deadline
            time.sleep(0.2)
        resumed = httpx.get(f"{again.url}/api/analyses/{job_id}/highlights").json()

    ref_store = Store(tmp_path / "ref-home")
    source = open_source(media / "long.flac")
    record = embed_source(clap, ref_store, source, source_identity(source))
    reference = score(record, ref_store.vectors(record), clap, labels, background)
    assert resumed["highlights"] == [
        {
            "label": h.label,
            "start_s": h.start_s,
            "end_s": h.end_s,
            "peak_s": h.peak_s,
            "score": round(h.score, 4),
            "usual": round(h.usual, 4),
            "relative": round(h.relative, 2),
            "why": h.why(),
        }
        for h in reference.highlights
        if h.usual is not None and h.relative is not None
    ]
    assert len(resumed["highlights"]) == len(reference.highlights)
    assert {h["label"] for h in resumed["highlights"]} == set(labels)


def test_serve_refuses_an_open_address_without_a_key(tmp_path: Path) -> None:
    env = {**os.environ, "HYPELINE_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("HYPELINE_API_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "emotion", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.startswith(
        "hypeline: Listening on 0.0.0.0 lets other machines in; set an API key"
    )
