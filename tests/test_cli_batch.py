"""`hypeline batch` as an editor runs it over an archive: failures said, the rest analysed."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_CLAP
from tests.httpserver import closed_port
from tests.media import write_media
from tests.running import n_done
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
ARGS = ["--labels", "a whistle, clicking", "--background", "silence"]
VODS = {
    "Monday": [("a whistle", 5.0, 12.0)],
    "Friday": [("clicking", 15.0, 24.0)],
}


def hypeline(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "emotion", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.decoder
def test_a_folder_and_a_list_with_a_broken_file_and_an_unreachable_link(tmp_path: Path) -> None:
    vods = tmp_path / "archive"
    vods.mkdir()
    for i, (name, events) in enumerate(VODS.items()):
        write_media(vods / f"{name}.flac", make_vod(events, 30.0, SR, np.random.default_rng(i)), SR)
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    url = f"http://127.0.0.1:{closed_port()}/vod.mp4"
    (tmp_path / "more.txt").write_text(f"# also these\n{broken}\n{url}\n")
    home, out = tmp_path / "home", tmp_path / "out"

    first = hypeline(
        "batch",
        str(vods),
        str(tmp_path / "more.txt"),
        *ARGS,
        "--out",
        str(out),
        home=home,
        cwd=tmp_path,
    )
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines()[0] == "2 of 4 VOD(s) analysed, 2 failed"
    assert "Traceback" not in first.stderr
    with (out / "batch.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["title"], r["highlights"], bool(r["error"])) for r in rows] == [
        ("Friday", "1", False),
        ("Monday", "1", False),
        ("", "0", True),
        ("", "0", True),
    ]
    assert "127.0.0.1" in rows[3]["error"] and rows[2]["vod"] == str(broken)

    # Each VOD is the analysis a solo analyze makes: same highlights, nothing embedded again.
    stored = n_done(home)
    solo = hypeline(
        "analyze",
        str(vods / "Monday.flac"),
        *ARGS,
        "--out",
        str(tmp_path / "solo"),
        home=home,
        cwd=tmp_path,
    )
    assert solo.returncode == 0, solo.stderr
    batch_doc = json.loads((out / "monday" / "highlights.json").read_text())
    solo_doc = json.loads((tmp_path / "solo" / "highlights.json").read_text())
    assert batch_doc["highlights"] == solo_doc["highlights"]
    (h,) = batch_doc["highlights"]
    assert h["label"] == "a whistle" and 0.0 <= h["start_s"] <= 5.0 and h["end_s"] >= 12.0

    vectors = {p.name: p.stat().st_mtime_ns for p in (home / "embeddings").iterdir()}
    again = hypeline("batch", str(vods), *ARGS, "--out", str(out), home=home, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "2 of 2 VOD(s) analysed"
    assert n_done(home) == stored  # no new analysis, no window added
    assert {p.name: p.stat().st_mtime_ns for p in (home / "embeddings").iterdir()} == vectors


def test_bad_arguments_exit_2_before_any_work(tmp_path: Path) -> None:
    out = hypeline(
        "batch", str(tmp_path), *ARGS, "--since", "March", home=tmp_path / "h", cwd=tmp_path
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "hypeline: The since date 'March' is not YYYYMMDD; write e.g. 20260301."
    )
    assert not (tmp_path / "h").exists()
