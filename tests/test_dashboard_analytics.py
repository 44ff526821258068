"""The Analytics page headless (AppTest) over a small library, and a pack in the sidebar."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion.analysis import embed_source
from emotion.analytics import HEAT_BINS, library_stats, parse_date
from emotion.clock import parse_clock
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.packs import Pack
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from tests.test_dashboard import DASHBOARD, RUN_TIMEOUT_S
from ui import packs
from ui.prompt_rows import Prompt, seed

SR = 48_000
PROMPTS = [
    Prompt("a tone", "#636EFA"),
    Prompt("silence", "#9E9E9E", background=True),
    Prompt("clicking", "#7A7A7A", background=True),
]
# sirens (kept) and whistles (rejected), which "a tone" matches alike
VODS = [
    (
        "2026-03-01",
        [
            ("a siren", 10.0, 30.0),
            ("a whistle", 50.0, 70.0),
            ("a siren", 90.0, 110.0),
            ("a whistle", 120.0, 140.0),
        ],
    ),
    (
        "2026-03-03",
        [
            ("a whistle", 10.0, 30.0),
            ("a siren", 60.0, 80.0),
            ("a whistle", 90.0, 110.0),
            ("a siren", 120.0, 140.0),
        ],
    ),
]


def build_library(clap, home: Path, media: Path) -> Store:
    store = Store(home)
    for i, (date, events) in enumerate(VODS):
        audio = make_vod(events, 150.0, SR, np.random.default_rng(300 + i))
        path = write_media(media / f"stream-{date}.wav", audio, SR)
        os.utime(path, (parse_date(date) + 72_000,) * 2)
        source = open_source(str(path))
        record = embed_source(clap, store, source, source_identity(source))
        for caption, start_s, end_s in events:
            store.set_review(record.id, "a tone", start_s, caption == "a siren", end_s=end_s)
    return store


@pytest.fixture
def library(clap, tmp_path: Path, monkeypatch) -> Store:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return build_library(clap, tmp_path / "home", tmp_path)


def analytics_page() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    seed(at.session_state, PROMPTS)
    at.run()
    at.switch_page("pages/analytics.py")
    return at.run()


def test_charts_best_of_and_learning_from_picks(library: Store, clap) -> None:
    at = analytics_page()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Across your streams"
    assert len(at.get("plotly_chart")) == 3
    best = at.dataframe[0].value
    expected = library_stats(library, clap, ["a tone"], ["silence", "clicking"])
    # Times as clocks and the VOD by its title: no seconds, no server path.
    assert list(best.columns) == ["date", "title", "label", "start", "end", "score"]
    assert best["start"].tolist() == [
        f"0:{int(m.start_s // 60):02d}:{round(m.start_s % 60):02d}" for m in expected.best
    ]
    assert [parse_clock(t) for t in best["end"]] == [round(m.end_s) for m in expected.best]
    assert best["title"].tolist() == [m.title for m in expected.best]
    assert set(best["title"]) == {"stream-2026-03-01", "stream-2026-03-03"}
    assert not any(str(library.home.parent) in str(v) for v in best.to_numpy().ravel())
    # zero-shot, "a tone" finds sirens and whistles alike
    kinds = [_kind(row.title, row.start, row.end) for row in best.itertuples()]
    assert len(kinds) >= 6 and kinds.count("a whistle") >= 3 and kinds.count("a siren") >= 3
    assert [b.label for b in at.get("download_button")] == ["CSV", "JSON", "Save as prompt pack"]
    heat = _heatmap(at)
    # Time into the stream on the axis: each VOD's bins at their times, labelled as clocks.
    assert heat["layout"]["xaxis"]["title"]["text"] == "time into the stream"
    assert heat["layout"]["xaxis"]["ticktext"] == ["0:00", "0:30", "1:00", "1:30", "2:00", "2:30"]
    assert heat["layout"]["xaxis"]["tickvals"] == [0, 30, 60, 90, 120, 150]
    assert [t["y"] for t in heat["data"]] == [[0], [1]]
    assert heat["layout"]["yaxis"]["ticktext"] == [
        "2026-03-01 · stream-2026-03-01",
        "2026-03-03 · stream-2026-03-03",
    ]
    for trace in heat["data"]:
        assert len(trace["x"]) == HEAT_BINS + 1  # the bins' edges, in seconds
        assert trace["x"][0] == 0 and trace["x"][-1] == pytest.approx(150.0, abs=0.5)
        assert [span for _, span in trace["customdata"][0][:2]] == ["0:00–0:08", "0:08–0:15"]

    at.toggle(key="learn").set_value(True).run()
    assert not at.exception, at.exception
    learned = at.dataframe[0].value
    assert learned.to_dict("records") == [
        {"label": "a tone", "kept": 4, "rejected": 4, "before": 0.0, "after": 1.0}
    ]
    best = at.dataframe[1].value
    kinds = [_kind(row.title, row.start, row.end) for row in best.itertuples()]
    assert kinds.count("a siren") == 4, best  # every siren, and …
    assert kinds.count("a whistle") <= 1, best  # … the whistles (nearly all) gone


def _heatmap(at: AppTest) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if "heatmap" in c.proto.id]
    return json.loads(chart.proto.spec)


def _kind(title: str, start: str, end: str) -> str | None:
    """The event a highlight (its clock times, as the table shows them) overlaps most."""
    start_s, end_s = parse_clock(start), parse_clock(end)
    (events,) = [e for d, e in VODS if title == f"stream-{d}"]
    overlap, kind = max((min(end_s, e) - max(start_s, s), c) for c, s, e in events)
    return kind if overlap > 0 else None


def test_date_range_and_empty_library(library: Store, tmp_path: Path, monkeypatch) -> None:
    at = analytics_page()
    at.date_input(key="stats_since").set_value(parse_date_date("2026-03-02")).run()
    assert not at.exception
    assert set(at.dataframe[0].value["title"]) == {"stream-2026-03-03"}
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "empty"))
    at = analytics_page()
    assert not at.exception
    assert at.info[0].value.startswith("No finished analysis with this model yet")


def parse_date_date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_a_pack_fills_the_sidebar(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    pack = Pack(
        labels=["a tone", "laughter"],
        background=["silence"],
        colors={"a tone": "#123456"},
        template="the sound of {}",
        settings=HighlightSettings(threshold=0.72, merge_gap_s=12.0, smoothing_s=10.0),
    )
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    packs.apply(at.session_state, pack)
    at.run()
    assert not at.exception, at.exception
    ids = at.session_state["prompt_ids"]
    assert [at.session_state[f"prompt_text_{i}"] for i in ids] == ["a tone", "laughter", "silence"]
    assert [at.session_state[f"prompt_bg_{i}"] for i in ids] == [False, False, True]
    assert at.session_state[f"prompt_color_{ids[0]}"] == "#123456"
    assert at.sidebar.slider(key="threshold").value == pytest.approx(0.7)
    assert at.sidebar.slider(key="merge_gap_s").value == 10
    assert at.sidebar.slider(key="smoothing_s").value == 10
    assert at.text_input(key="template").value == "the sound of {}"
    settings = at.session_state["settings"]
    assert settings.labels == ["a tone", "laughter"] and settings.template == "the sound of {}"
    assert json.loads(json.dumps(Pack(labels=["x"]).to_dict()))["version"] == 1


def test_a_relative_pack_with_per_prompt_thresholds_fills_the_sidebar(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    rules = HighlightSettings.on_scale("relative", threshold=5.0, per_prompt=(("laughter", 3.0),))
    pack = Pack(labels=["a tone", "laughter"], background=["silence"], settings=rules)
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    packs.apply(at.session_state, pack)
    at.run()
    assert not at.exception, at.exception
    assert at.sidebar.slider(key="threshold_relative").value == 5.0
    ids = at.session_state["prompt_ids"]
    assert at.sidebar.number_input(key=f"prompt_threshold_relative_{ids[1]}").value == 3.0
    assert at.sidebar.number_input(key=f"prompt_threshold_relative_{ids[0]}").value is None
    assert at.session_state["settings"].highlights == rules  # what the pack said, exactly
    # Back on the absolute scale the probability slider and its own per-prompt values apply.
    at.session_state["scale"] = "absolute"
    at.run()
    at.sidebar.number_input(key=f"prompt_threshold_absolute_{ids[0]}").set_value(0.8).run()
    highlights = at.session_state["settings"].highlights
    assert (highlights.scale, highlights.threshold) == ("absolute", 0.5)
    assert highlights.per_prompt == (("a tone", 0.8),)
