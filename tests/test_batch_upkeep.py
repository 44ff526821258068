"""What a batch does after each VOD: a link's download deleted once its exports are written
(``--keep-media no``; a local file never), and the search index updated when it is due, so
that the first search after the batch neither trains nor rewrites it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emotion import search_index
from emotion.batch import Done, run_batch
from emotion.batch_inputs import MEDIA_SUFFIXES, Item
from emotion.engines import LocalEngine, Tally
from emotion.library.store import Store
from emotion.media import disk
from emotion.pipeline import Settings, embed, moments, open_spec, run
from emotion.progress import Progress
from emotion.scoring.prompts import Prompts
from emotion.search import search, text_query
from tests.conftest import TINY_CLAP
from tests.httpserver import serve_folder
from tests.media import write_media
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
ARGS = ["--labels", "a whistle, clicking", "--background", "silence"]
SETTINGS = Settings(prompts=Prompts(labels=["a whistle", "clicking"], background=["silence"]))


def _media_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES)


@pytest.mark.decoder
def test_keep_media_no_deletes_a_links_download_after_its_clips(
    clap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, own = tmp_path / "served", tmp_path / "own"
    served.mkdir()
    own.mkdir()
    audio = make_vod([("a whistle", 10.0, 18.0)], 40.0, SR, np.random.default_rng(1))
    write_media(served / "Link Night.mp4", audio, SR, audio_args=("-c:a", "aac"), video=True)
    local = write_media(
        own / "Own Night.flac",
        make_vod([("clicking", 20.0, 28.0)], 40.0, SR, np.random.default_rng(2)),
        SR,
    )
    local_before = (local.read_bytes(), local.stat().st_mtime_ns)
    home, out = tmp_path / "home", tmp_path / "out"
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }

    with serve_folder(served) as server:
        link = server.url("Link%20Night.mp4")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "emotion",
                "batch",
                link,
                str(local),
                *ARGS,
                "--keep-media",
                "no",
                "--clips",
                "--formats",
                "json",
                "--out",
                str(out),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == "2 of 2 VOD(s) analysed"
        (said,) = [line for line in lines if line.startswith("Deleted the downloads of")]
        assert said.startswith("Deleted the downloads of 1 VOD(s) (")
        assert said.endswith(" MB); their analyses stay in the library")

        # The exports were written from the media before it went: clips included.
        clips = _media_files(out / "link-night" / "clips")
        assert len(clips) == 1 and clips[0].stat().st_size > 1000
        batch_doc = json.loads((out / "link-night" / "highlights.json").read_text())
        # No media left in downloads/; its index entry stays, as after an eviction.
        assert _media_files(home / "downloads") == []
        (entry,) = (home / "downloads" / "index").glob("*.json")
        assert json.loads(entry.read_text())["url"].endswith("/Link%20Night.mp4")
        # The user's own file is untouched, and so are its exports' clips.
        assert (local.read_bytes(), local.stat().st_mtime_ns) == local_before
        assert len(_media_files(out / "own-night" / "clips")) == 1

        # The analysis stays whole: re-scored and searched from its vectors alone.
        store = Store(home)
        by_title = {r.source.title: r for r in store.analyses()}
        assert sorted(by_title) == ["Link Night", "Own Night"]
        linked = by_title["Link Night"]
        assert linked.complete and not linked.source.path.exists()
        rescored = moments(linked, store, clap, SETTINGS)
        assert [(h.label, round(h.start_s, 3), round(h.end_s, 3)) for h in rescored.highlights] == [
            (h["label"], round(h["start_s"], 3), round(h["end_s"], 3))
            for h in batch_doc["highlights"]
        ]
        assert [h.label for h in rescored.highlights] == ["a whistle"]
        (hit, *_) = search(store, text_query(clap, "a whistle"), [clap.name], top=3)
        assert hit.analysis_id == linked.id and 5.0 <= hit.best_start_s <= 18.0

        # A later analyze of the link downloads it again and embeds nothing.
        gets = server.count("GET", "/Link Night.mp4")
        monkeypatch.setenv("HYPELINE_HOME", str(home))
        again = run(link, clap, store, SETTINGS, tmp_path / "again")
        assert server.count("GET", "/Link Night.mp4") > gets
        assert again.analysis.analysis_id == linked.id
        assert store.analysis(linked.id).n_done == linked.n_done
        assert again.analysis.source.path.is_file()
        assert [h.label for h in again.analysis.highlights] == ["a whistle"]


def test_remove_download_removes_only_a_finished_download(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = {
        "download": home / "downloads" / "vid-1234" / "Night [vid].mp4",
        "partial": home / "downloads" / ".incomplete" / "5678" / "Night [vid].mp4.part",
        "chat": home / "downloads" / "chat" / "9abc" / "chat.json",
        "upload": home / "uploads" / "f00d" / "clip.mkv",
        "own": tmp_path / "videos" / "Night.mp4",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1000)
    for name in ("partial", "chat", "upload", "own"):
        assert disk.remove_download(files[name], home) is None
        assert files[name].is_file(), name
    removed = disk.remove_download(files["download"], home)
    assert removed is not None
    assert (removed.path, removed.area, removed.size_bytes) == (
        home / "downloads" / "vid-1234",
        "downloads",
        1000,
    )
    assert not removed.path.exists() and (home / "downloads").is_dir()
    assert disk.remove_download(files["download"], home) is None  # gone already


@pytest.fixture
def archive(tmp_path: Path) -> list[Path]:
    """Three short VODs of 7 windows each (37 s on the 10 s / 5 s grid)."""
    events = [[("a whistle", 5.0, 12.0)], [("clicking", 15.0, 24.0)], [("a siren", 20.0, 30.0)]]
    return [
        write_media(tmp_path / f"vod{i}.flac", make_vod(e, 37.0, SR, np.random.default_rng(i)), SR)
        for i, e in enumerate(events)
    ]


def test_a_batch_leaves_an_index_that_the_next_search_uses_as_it_is(
    clap, archive: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "INDEX_MIN_WINDOWS", 12)  # reached by the second VOD
    store = Store(tmp_path / "home")

    def one(spec: str) -> Done:
        record = embed(open_spec(spec), clap, store)
        return Done(record.title, record.id, record.n_done, 0)

    notes: list[str] = []
    seen: list[Progress] = []
    outcomes = run_batch(
        [Item(str(p)) for p in archive],
        one,
        tmp_path / "out",
        progress=seen.append,
        on_note=notes.append,
        store=store,
    )
    assert [o.windows for o in outcomes] == [7, 7, 7]
    # Trained once the library passed the threshold; the last VOD (7 windows pending, far
    # below PENDING_MAX_WINDOWS) added by the batch's last update.
    assert notes == ["indexing 14 windows for search…", "indexing 7 windows for search…"]
    indexing = [p for p in seen if p.stage == "index"]
    assert indexing[0].message == "indexing 14 windows for search…" and indexing[-1].fraction == 1.0
    assert [p.stage for p in seen][-1] == "batch"
    status = search_index.status(store, clap.name)
    assert status is not None and (status.n_analyses, status.n_windows) == (3, 21)
    manifest = status.path / "manifest.json"
    written = (manifest.stat().st_mtime_ns, sorted(p.name for p in status.path.glob("index-*")))

    # The first search goes through that index (the library is past the threshold) and
    # neither trains nor writes it: nothing is pending.
    search_index._indexes.clear()  # as a search in a new process reads it
    coverage = search_index.coverage(store, clap.name, 32, store.analyses())
    assert set(coverage.covered) == {o.analysis_id for o in outcomes}
    hits = search(store, text_query(clap, "a whistle"), [clap.name], top=5, on_note=notes.append)
    assert hits == search(store, text_query(clap, "a whistle"), [clap.name], top=5, index=False)
    assert hits[0].analysis_id == outcomes[0].analysis_id
    assert (
        manifest.stat().st_mtime_ns,
        sorted(p.name for p in status.path.glob("index-*")),
    ) == written
    assert len(notes) == 2  # no note from the search

    # The batch again: all in the library, the index as it was (no note, no write).
    run_batch(
        [Item(str(p)) for p in archive], one, tmp_path / "out", on_note=notes.append, store=store
    )
    assert len(notes) == 2 and manifest.stat().st_mtime_ns == written[0]


def test_a_small_librarys_batch_writes_no_index(clap, archive: list[Path], tmp_path: Path) -> None:
    store = Store(tmp_path / "home")

    def one(spec: str) -> Done:
        record = embed(open_spec(spec), clap, store)
        return Done(record.title, record.id, record.n_done, 0)

    notes: list[str] = []
    run_batch(
        [Item(str(p)) for p in archive[:2]],
        one,
        tmp_path / "out",
        on_note=notes.append,
        store=store,
    )
    assert notes == [] and search_index.status(store, clap.name) is None
    assert not (store.home / "index").exists()


def test_lanes_never_update_the_index_at_once(
    clap, archive: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "INDEX_MIN_WINDOWS", 1)
    monkeypatch.setattr(search_index, "PENDING_MAX_WINDOWS", 0)  # each VOD's windows are due
    real = search_index.update
    running, most, calls = [0], [0], [0]
    guard = threading.Lock()

    def update(*args, **kwargs):  # the real update, watched: how many run at once
        with guard:
            running[0] += 1
            calls[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.2)  # long enough for the other lanes to finish their VOD meanwhile
            return real(*args, **kwargs)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(search_index, "update", update)
    store = Store(tmp_path / "home")
    engine = LocalEngine(clap, 3)
    try:

        def one(spec: str) -> Done:
            tally = Tally(engine.embedder)
            record = embed(open_spec(spec), clap, store, batch_size=3, embedder=tally)
            return Done(record.title, record.id, record.n_done, 0, tally.windows)

        outcomes = run_batch(
            [Item(str(p)) for p in archive], one, tmp_path / "out", lanes=engine.lanes, store=store
        )
    finally:
        engine.close()
    assert [o.embedded for o in outcomes] == [7, 7, 7]
    assert most[0] == 1 and calls[0] >= 2  # one lane's at least, then the batch's last
    status = search_index.status(store, clap.name)
    assert status is not None and (status.n_analyses, status.n_windows) == (3, 21)
