"""The HTTP API's posts (service/routers/posts.py): shorts, a reel and thumbnails of an
analysis, rendered in the background, downloaded one by one and as a zip; bad options
refused before anything is rendered."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from emotion import atomic
from service.config import ServeConfig
from service.main import create_app
from tests.media import write_media
from tests.synth import make_vod
from tests.test_cli_analyze_posts import size

SR = 48_000
EVENTS = [("a whistle", 10.0, 17.0)]
ANALYSIS = {"source": "Stream Night.mp4", "labels": "a whistle, clicking", "background": "silence"}
POSTS = {
    "shorts": {"max_s": 4, "title": "{label} at {time}"},
    "reel": {"length_s": 5},
    "thumbnails": True,
}
DEADLINE_S = 120


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def client(clap, home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server over a 30 s video VOD (64×64, one whistle at 10–17 s) in its media folder."""
    media = tmp_path_factory.mktemp("media")
    audio = make_vod(EVENTS, 30.0, SR, np.random.default_rng(7))
    write_media(media / ANALYSIS["source"], audio, SR, video=True, audio_args=("-c:a", "aac"))
    write_media(media / "Podcast.wav", audio, SR)  # the same sound, no picture
    with TestClient(create_app(ServeConfig(media_roots=(media,), home=home), clap)) as c:
        yield c


@pytest.fixture(scope="module")
def analysis(client: TestClient) -> str:
    job_id = client.post("/api/analyses", json=ANALYSIS).json()["id"]
    wait(client, f"/api/analyses/{job_id}")
    return str(job_id)


def wait(client: TestClient, path: str) -> dict:
    """GET ``path`` until its status is complete (or the test's deadline passes)."""
    deadline = time.monotonic() + DEADLINE_S
    while (status := client.get(path).json())["status"] != "complete":
        assert status["status"] in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        if status["progress"] is not None:
            assert 0.0 <= status["progress"] <= 1.0
        time.sleep(0.05)
    return status


def posts_folders(home: Path) -> list[Path]:
    return sorted(p for p in home.glob("exports/*/posts-*") if p.is_dir())


@pytest.mark.decoder
def test_posts_are_rendered_in_the_background_and_downloaded(
    client: TestClient, analysis: str, home: Path, tmp_path: Path
) -> None:
    created = client.post(f"/api/analyses/{analysis}/posts", json=POSTS)
    assert created.status_code == 202, created.text
    base = f"/api/analyses/{analysis}/posts/{created.json()['id']}"
    status = wait(client, base)
    assert (status["progress"], status["eta_s"], status["error"]) == (1.0, 0.0, None)
    assert status["highlights"] == 1
    names = [f["name"] for f in status["files"]]
    short = next(n for n in names if n.startswith("shorts/"))
    assert short.startswith("shorts/01-a-whistle-0-00-") and short.endswith(".mp4")
    assert sorted(names) == sorted(
        [short, short.replace("shorts/", "thumbnails/")[:-4] + ".jpg", "reel.mp4"]
    )
    assert any("reel-chapters.txt was not written" in n for n in status["notes"])  # 1 part

    answer = client.get(f"{base}/files/{short}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    downloaded = tmp_path / "short.mp4"
    downloaded.write_bytes(answer.content)
    assert size(downloaded) == (1080, 1920)
    assert len(answer.content) == next(f["bytes"] for f in status["files"] if f["name"] == short)

    archive = client.get(status["zip_url"])
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        assert sorted(z.namelist()) == sorted(names)
        assert z.read(short) == answer.content

    # Asked again: the same folder, the short kept as it was (only what is missing is made).
    (folder,) = posts_folders(home)
    made = (folder / short).stat()
    again = wait(
        client,
        f"/api/analyses/{analysis}/posts/"
        f"{client.post(f'/api/analyses/{analysis}/posts', json=POSTS).json()['id']}",
    )
    assert sorted(f["name"] for f in again["files"]) == sorted(names)
    assert posts_folders(home) == [folder]
    kept = (folder / short).stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert not [p for p in folder.rglob("*") if atomic.final_of(p) is not None]
    gone = client.get(f"{base}/files/shorts/02-a-whistle.mp4")  # only the render's own files
    assert gone.status_code == 404 and "has no file 'shorts/02-a-whistle.mp4'" in gone.text


@pytest.mark.parametrize(
    ("body", "query", "words"),
    [
        ({"shorts": {"layout": "split"}}, "", "needs the face cam's rectangle"),
        ({"shorts": {"layout": "split"}}, "", "(shorts.facecam)"),
        ({"shorts": {"layout": "vertical"}}, "", "There is no short layout 'vertical'"),
        (
            {"shorts": {"layout": "split", "facecam": [0, 0, 100, 32]}},
            "",
            "reaches outside the 64×64 video",
        ),
        ({"reel": {"length_s": 0}}, "", "(reel.length_s)"),
        ({"reel": {}}, "?threshold=0.9999", "There are no highlights to make a reel of"),
        ({"shorts": {}}, "?threshold=0.9999", "There are no highlights to make shorts of"),
        ({}, "", "Nothing to render"),
        ({"shorts": {"size": 3}}, "", "'shorts.size': Extra inputs are not permitted"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_rendered(
    client: TestClient, analysis: str, home: Path, body: dict, query: str, words: str
) -> None:
    before = posts_folders(home)
    renders = client.get(f"/api/analyses/{analysis}/posts").json()
    answer = client.post(f"/api/analyses/{analysis}/posts{query}", json=body)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"] and answer.json().keys() == {"error"}
    assert client.get(f"/api/analyses/{analysis}/posts").json() == renders
    assert posts_folders(home) == before


def test_crop_on_an_audio_only_source_is_refused_before_any_render(
    client: TestClient, home: Path
) -> None:
    job_id = client.post("/api/analyses", json={**ANALYSIS, "source": "Podcast.wav"}).json()["id"]
    wait(client, f"/api/analyses/{job_id}")
    before = posts_folders(home)
    refused = client.post(f"/api/analyses/{job_id}/posts", json={"shorts": {"layout": "crop"}})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert "no picture to crop" in error and "blur layout" in error, error
    assert error.endswith("(shorts.layout)") and posts_folders(home) == before


def test_no_highlights_really_is_none_at_that_threshold(client: TestClient, analysis: str) -> None:
    answer = client.get(f"/api/analyses/{analysis}/highlights?threshold=0.9999")
    assert answer.status_code == 200 and answer.json()["highlights"] == []


def test_unknown_renders_and_analyses_are_404(client: TestClient, analysis: str) -> None:
    answer = client.get(f"/api/analyses/{analysis}/posts/nope")
    assert answer.status_code == 404 and "no render 'nope'" in answer.json()["error"]
    answer = client.post("/api/analyses/nope/posts", json={"thumbnails": True})
    assert answer.status_code == 404 and "no analysis 'nope'" in answer.json()["error"]


@pytest.mark.decoder
def test_a_forgotten_render_stops_and_leaves_only_whole_files(
    client: TestClient, analysis: str, home: Path
) -> None:
    before = set(posts_folders(home))
    body = {"shorts": {"max_s": 4, "title": "cancelled"}}
    render_id = client.post(f"/api/analyses/{analysis}/posts", json=body).json()["id"]
    deadline = time.monotonic() + DEADLINE_S  # forgotten while it renders (or just after)
    while client.get(f"/api/analyses/{analysis}/posts/{render_id}").json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert client.delete(f"/api/analyses/{analysis}/posts/{render_id}").status_code == 204
    assert client.get(f"/api/analyses/{analysis}/posts/{render_id}").status_code == 404
    # One render at a time: once the next is complete, the forgotten one has stopped.
    after = client.post(f"/api/analyses/{analysis}/posts", json={"thumbnails": True}).json()
    wait(client, f"/api/analyses/{analysis}/posts/{after['id']}")
    for folder in set(posts_folders(home)) - before:
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert not [p for p in files if atomic.final_of(p) is not None], files
        assert all(size(p) == (1080, 1920) for p in files if p.suffix == ".mp4")
