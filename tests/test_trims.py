"""Trims: a highlight's edges moved by hand, stored with its review key, reaching every export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.errors import HypelineError
from emotion.library.records import MAX_TRIM_S, MIN_TRIMMED_S, Trim
from emotion.library.schema import SCHEMA_VERSION
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight
from hypeline_cli.review import parse_trim
from tests.test_store_migration import V1

DURATION_S = 300.0


def _analysis(store: Store) -> Analysis:
    source = Source(Path("/vods/vod.mp4"), "My VOD", DURATION_S)
    record = store.open_analysis(source, "sha256:trim", "m", 10.0, 5.0, 4)
    lease = store.lease(record.id)
    assert lease is not None
    with lease:
        store.finish(lease, record.id, DURATION_S)
    hs = [
        Highlight("win", 60.0, 75.0, 70.0, 0.9),
        Highlight("fail", 150.0, 160.0, 152.0, 0.8),
        Highlight("win", 290.0, 300.0, 295.0, 0.7),
    ]
    return Analysis(
        source=source,
        model="m",
        window_s=10.0,
        hop_s=5.0,
        template="{}",
        labels=["win", "fail"],
        background=[],
        window_starts_s=np.zeros(0),
        scores=np.zeros((0, 2), dtype=np.float32),
        duration_s=DURATION_S,
        highlights=hs,
        analysis_id=record.id,
    )


def _spans(files: dict[str, bytes]) -> tuple[list[str], list[tuple[str, str, str]], list]:
    chapters = files["chapters"].decode().splitlines()
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    doc = json.loads(files["json"])
    return (
        chapters,
        [(r["label"], r["start_s"], r["end_s"]) for r in rows],
        [(h["label"], h["start_s"], h["end_s"], h["peak_s"]) for h in doc["highlights"]],
    )


def test_a_trim_moves_the_chapters_csv_and_json_times_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path)
    analysis = _analysis(store)
    before = _spans(pipeline_export.export_files(analysis, store, ["chapters", "csv", "json"])[0])
    assert before[1][0] == ("win", "60.000", "75.000")
    assert "1:00 win" in before[0]

    store.set_trim(analysis.analysis_id, "win", 60.0, Trim(-2.5, 3.0), end_s=75.0)
    store.set_trim(analysis.analysis_id, "fail", 150.0, Trim(4.0, -1.25))
    files, _ = pipeline_export.export_files(analysis, Store(tmp_path), ["chapters", "csv", "json"])
    chapters, rows, doc = _spans(files)
    assert rows == [
        ("win", "57.500", "78.000"),
        ("fail", "154.000", "158.750"),
        ("win", "290.000", "300.000"),
    ]
    # The peak of the trimmed fail (152 s) now lies before its start: it moves inside.
    assert doc[:2] == [("win", 57.5, 78.0, 70.0), ("fail", 154.0, 158.75, 154.0)]
    assert "0:57 win" in chapters and "1:00 win" not in chapters
    assert "2:34 fail" in chapters
    # Stored in the library: they survive reopening it.
    assert Store(tmp_path).trims(analysis.analysis_id) == {
        ("win", 60.0): Trim(-2.5, 3.0),
        ("fail", 150.0): Trim(4.0, -1.25),
    }
    # A trim that moves nothing is no trim at all.
    store.set_trim(analysis.analysis_id, "fail", 150.0, Trim(0.0, 0.0))
    assert list(store.trims(analysis.analysis_id)) == [("win", 60.0)]


def test_trims_follow_the_reviews_choice_and_edl_srt_too(tmp_path: Path) -> None:
    store = Store(tmp_path)
    analysis = _analysis(store)
    aid = analysis.analysis_id
    store.set_review(aid, "fail", 150.0, True)  # kept: the exports hold it alone
    store.set_trim(aid, "fail", 150.0, Trim(-10.0, 0.0))
    store.set_trim(aid, "win", 60.0, Trim(-1.0, 0.0))  # trimmed but not chosen: not exported
    subset = pipeline_export.for_export(analysis, store)
    assert [(h.label, h.start_s, h.end_s) for h in subset.highlights] == [("fail", 140.0, 160.0)]
    as_found = pipeline_export.for_export(analysis, store, trim=False)
    assert [(h.start_s, h.end_s) for h in as_found.highlights] == [(150.0, 160.0)]
    files, _ = pipeline_export.export_files(analysis, store, ["edl", "srt"])
    assert "00:02:20:00" in files["edl"].decode()  # 140 s at the EDL's timecode
    assert "00:02:20,000 --> 00:02:40,000" in files["srt"].decode()


def test_a_trim_is_clamped_to_the_vod_and_a_minimum_length() -> None:
    assert Trim(-15.0, 15.0).span(5.0, 20.0, 30.0) == (0.0, 30.0)
    assert Trim(0.0, 10.0).span(290.0, 295.0, DURATION_S) == (290.0, 300.0)
    # Edges crossed: the end gives way to the minimum length, then the start at the VOD's end.
    assert Trim(4.0, -4.0).span(10.0, 15.0, 60.0) == (14.0, 14.0 + MIN_TRIMMED_S)
    assert Trim(4.0, 0.0).span(58.0, 60.0, 60.0) == (60.0 - MIN_TRIMMED_S, 60.0)
    hs = pipeline_export.trimmed(
        [Highlight("a", 10.0, 20.0, 12.0, 0.5), Highlight("b", 15.0, 25.0, 16.0, 0.5)],
        {("b", 15.0): Trim(-10.0, 0.0)},
        60.0,
    )
    assert [(h.label, h.start_s) for h in hs] == [("b", 5.0), ("a", 10.0)]  # time order


def test_bad_trims_say_what_to_do(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(HypelineError, match=r"at most 15 s either way, not \+16 s; give a shift"):
        store.set_trim(1, "win", 60.0, Trim(0.0, 16.0))
    with pytest.raises(HypelineError, match="by a number of seconds from -15 to"):
        Trim(float("nan"), 0.0).check()
    with pytest.raises(HypelineError, match=r"leaves the moment 0.0 s long; keep it at least 1 s"):
        store.set_trim(1, "win", 60.0, Trim(8.0, -8.0), end_s=75.0)
    assert store.trims(1) == {}
    assert MAX_TRIM_S == 15.0
    assert parse_trim("1:20=-2,+3") == (80.0, Trim(-2.0, 3.0))
    assert parse_trim(" 95.5 = 0 , -1.5 ") == (95.5, Trim(0.0, -1.5))
    with pytest.raises(HypelineError, match="is not a trim; write the highlight's start"):
        parse_trim("1:20 -2 +3")
    with pytest.raises(HypelineError, match="at most 15 s"):
        parse_trim("1:20=-20,0")


def test_a_version_5_library_gains_trims_in_place(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        db.executescript(V1)
        db.execute(
            "INSERT INTO sources VALUES (1, 'sha256:ab', 'Old VOD', '/v.mp4', NULL, NULL, "
            "90.0, 1, 25.0, 0)"
        )
        db.execute(
            "INSERT INTO analyses VALUES (7, 1, 'm', 10, 5, 512, 'complete', 17, 90.0, 1, 2)"
        )
        db.execute("INSERT INTO reviews VALUES (7, 'laughter', 25.0, 1)")
    Store(tmp_path)  # to version 6 …
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        db.execute("DROP TABLE trims")  # … then back to what version 5 had
        db.execute("PRAGMA user_version = 5")
    store = Store(tmp_path)
    assert store.reviews(7) == {("laughter", 25.0): True}
    store.set_trim(7, "laughter", 25.0, Trim(-1.0, 2.0))
    assert Store(tmp_path).trims(7) == {("laughter", 25.0): Trim(-1.0, 2.0)}
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6


def test_the_cli_stores_a_trim_and_refuses_a_bad_one(tmp_path: Path) -> None:
    store = Store(tmp_path)
    analysis = _analysis(store)
    aid = str(analysis.analysis_id)
    env = {"HYPELINE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "emotion", "review", aid, "--label", "win"]
    repo = Path(__file__).resolve().parents[1]
    ok = subprocess.run(
        [*cmd, "--trim", "1:00=-2,+3"],
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "trim   win  1:00: start -2 s, end +3 s" in ok.stdout
    assert Store(tmp_path).trims(analysis.analysis_id) == {("win", 60.0): Trim(-2.0, 3.0)}
    files, _ = pipeline_export.export_files(analysis, store, ["csv"])
    assert "win,58.000,78.000" in files["csv"].decode()
    bad = subprocess.run(
        [*cmd, "--trim", "1:00=-30,0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "at most 15 s either way" in bad.stderr and "Traceback" not in bad.stderr
