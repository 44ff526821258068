"""Analytics over a library of synthetic VODs with known events, aired on known dates."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.analytics import (
    HEAT_BINS,
    best_clips,
    best_csv,
    best_json,
    library_stats,
    parse_date,
)
from emotion.library.store import Store
from emotion.media.downloads import _published
from emotion.media.sources import open_source, source_identity
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
DURATION_S = 60.0
LABELS = ["a whistle", "clicking", "a siren"]
BACKGROUND = ["silence"]
# (date aired, events): whistles and clicks early, a siren late
VODS = [
    ("2026-03-01", [("a whistle", 5.0, 20.0)]),
    ("2026-03-02", [("clicking", 10.0, 25.0), ("a whistle", 35.0, 50.0)]),
    ("2026-03-05", [("a siren", 30.0, 55.0)]),
]


@pytest.fixture(scope="module")
def library(clap, tmp_path_factory: pytest.TempPathFactory) -> Store:
    tmp = tmp_path_factory.mktemp("analytics")
    store = Store(tmp / "home")
    for i, (date, events) in enumerate(VODS):
        path = write_media(
            tmp / f"stream-{date}.wav",
            make_vod(events, DURATION_S, SR, np.random.default_rng(40 + i)),
            SR,
        )
        aired = parse_date(date) + 20 * 3600  # 20:00 UTC
        os.utime(path, (aired, aired))  # a local file airs when it was last modified
        source = open_source(str(path))
        embed_source(clap, store, source, source_identity(source))
    return store


def test_mood_mix_highlights_and_dates(clap, library: Store) -> None:
    stats = library_stats(library, clap, LABELS, BACKGROUND)
    assert [v.title for v in stats.vods] == [f"stream-{d}" for d, _ in VODS]  # oldest first
    assert [v.date for v in stats.vods] == [d for d, _ in VODS]
    for v, (_, events) in zip(stats.vods, VODS, strict=True):
        record = library.analysis(v.analysis_id)
        assert record.published == parse_date(v.date) + 20 * 3600
        analysis = score(record, library.vectors(record), clap, LABELS, BACKGROUND)
        assert v.n_highlights == len(analysis.highlights) == len(events)
        assert sum(v.minutes.values()) == pytest.approx(DURATION_S / 60)  # every cell counted once
        assert sum(v.share.values()) == pytest.approx(1.0)
        for label, start_s, end_s in events:  # the event's label dominates about its length
            assert v.minutes[label] == pytest.approx((end_s - start_s) / 60, abs=10 / 60)
        assert v.highlights_per_hour == pytest.approx(len(events) / (DURATION_S / 3600))
    assert stats.heatmap.shape == (3, HEAT_BINS)
    # the siren sits in the last half of the third VOD: the heat is there
    siren_heat = stats.heatmap[2]
    assert siren_heat[HEAT_BINS // 2 :].mean() > 0.8 > 0.3 > siren_heat[: HEAT_BINS // 3].mean()
    assert stats.by_date() == [
        {"date": "2026-03-01", "hours": 0.017, "highlights": 1, "per_hour": 60.0},
        {"date": "2026-03-02", "hours": 0.017, "highlights": 2, "per_hour": 120.0},
        {"date": "2026-03-05", "hours": 0.017, "highlights": 1, "per_hour": 60.0},
    ]


def test_best_of_over_a_date_range_exports(clap, library: Store) -> None:
    stats = library_stats(
        library, clap, LABELS, BACKGROUND, since=parse_date("2026-03-02"), best_of=2
    )
    assert [v.date for v in stats.vods] == ["2026-03-02", "2026-03-05"]
    assert len(stats.best) == 2 and stats.best[0].score >= stats.best[1].score
    every = library_stats(library, clap, LABELS, BACKGROUND, since=parse_date("2026-03-02"))
    assert sorted(m.label for m in every.best) == ["a siren", "a whistle", "clicking"]
    assert stats.best == every.best[:2]
    rows = list(csv.DictReader(io.StringIO(best_csv(stats.best))))
    assert list(rows[0]) == [
        "source",
        "start_s",
        "end_s",
        "label",
        "score",
        "title",
        "date",
        "analysis_id",
    ]
    assert rows[0]["source"].endswith(f"{rows[0]['title']}.wav")
    assert float(rows[0]["score"]) == pytest.approx(stats.best[0].score, abs=1e-4)
    parsed = json.loads(best_json(stats.best))
    assert [(r["label"], r["start_s"], r["end_s"]) for r in parsed] == [
        (m.label, m.start_s, m.end_s) for m in stats.best
    ]
    until = library_stats(library, clap, LABELS, BACKGROUND, until=parse_date("2026-03-02"))
    assert [v.date for v in until.vods] == ["2026-03-01"]


def test_published_from_yt_dlp_metadata() -> None:
    assert _published({"timestamp": 1767300000}) == 1767300000.0
    assert _published({"upload_date": "20260301"}) == datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    assert _published({"release_timestamp": 5.0, "timestamp": 9.0}) == 5.0
    assert _published({"upload_date": "soon"}) is None and _published({}) is None


def test_stats_cli(library: Store) -> None:
    env = {**os.environ, "HYPELINE_MODEL": str(TINY_CLAP), "HYPELINE_HOME": str(library.home)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emotion", "stats", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    out = run("--labels", ", ".join(LABELS), "--background", "silence", "--since", "2026-03-05")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "2026-03-05  stream-2026-03-05  (1 min, 60.0 highlights/h)"
    assert lines[1].split()[:2] == ["silence", "0.6"] or lines[1].split()[:2] == ["a", "siren"]
    out = run("--labels", ", ".join(LABELS), "--background", "silence", "--json")
    data = json.loads(out.stdout)
    assert [v["date"] for v in data["vods"]] == [d for d, _ in VODS] and len(data["best"]) == 4
    out = run("--labels", "a siren", "--since", "March")
    assert out.returncode == 2
    assert out.stderr.strip() == "hypeline: --since 'March' is not a date; write it as YYYY-MM-DD."


def test_best_of_as_clips(clap, library: Store, tmp_path: Path) -> None:
    from emotion.errors import ExportError
    from emotion.media.audio import probe

    stats = library_stats(library, clap, LABELS, BACKGROUND, best_of=2)
    written = best_clips(library, stats.best, tmp_path / "clips", padding_s=1.0)
    assert [p.name.split("-")[0] for p in written] == ["01", "02"]
    for path, m in zip(written, stats.best, strict=True):
        assert path.suffix == ".m4a" and m.title in path.name
        length_s = min(m.end_s + 1.0, DURATION_S) - max(m.start_s - 1.0, 0.0)
        assert probe(path).duration_s == pytest.approx(length_s, abs=0.1)
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == sorted(p.name for p in written)
    gone = library.analysis(stats.best[0].analysis_id).source.path
    moved = gone.with_suffix(".moved")
    gone.rename(moved)
    try:
        with pytest.raises(ExportError, match="is gone, so its clip cannot be cut"):
            best_clips(library, stats.best, tmp_path / "more")
    finally:
        moved.rename(gone)
