"""emotion.pipeline, the one entry: and the CLI, the dashboard and the API agree through it.

One VOD, one set of settings, a found highlight rejected and a moment added by hand: the
three faces must hand the streamer byte-equal ``highlights.json`` and exports.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from emotion import pipeline, pipeline_export
from emotion.export import FILENAMES
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight, HighlightSettings, with_moments
from emotion.scoring.prompts import Prompts
from hypeline_cli.main import main as cli
from service.config import ServeConfig
from service.main import create_app
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from ui.prompt_rows import Prompt, seed

SR = 48_000
EVENTS = [("a whistle", 20.0, 30.0), ("clicking", 55.0, 65.0), ("a whistle", 80.0, 88.0)]
LABELS = ["a whistle", "clicking"]
BACKGROUND = ["silence"]
ADDED = ("crowd screaming", 40.0, 48.0)  # a moment kept by hand (a search hit)
DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
# What the dashboard's sidebar holds by default, spelled out for the CLI and the API.
RULES = HighlightSettings(smoothing_s=10.0)
FORMATS = ("json", "csv", "chapters", "edl", "fcpxml", "srt")


def _highlight(label: str, start_s: float) -> Highlight:
    return Highlight(label, start_s, start_s + 10, start_s + 5, 0.9)


def test_exports_take_the_kept_highlights_else_all_but_the_dropped() -> None:
    hs = [_highlight("a", 0), _highlight("b", 20), _highlight("a", 40)]
    assert pipeline_export.chosen(hs, {}) == hs
    assert pipeline_export.chosen(hs, {("b", 20.0): True}) == [hs[1]]
    assert pipeline_export.chosen(hs, {("b", 20.0): False}) == [hs[0], hs[2]]
    assert pipeline_export.chosen(hs, {("b", 20.0): False, ("a", 40.0): True}) == [hs[2]]


def test_a_moment_added_over_a_highlight_of_its_label_is_that_highlight_kept() -> None:
    found = [_highlight("a siren", 20), _highlight("a whistle", 60)]
    moments = [("a siren", 24.0, 34.0), ("a whistle", 10.0, 18.0), ("a siren", 90.0, 95.0)]
    merged = with_moments(found, moments)
    # One row per event: the overlapping siren stays as found (its score, its review key).
    assert merged == [
        Highlight("a whistle", 10.0, 18.0, 10.0, 1.0),
        found[0],
        found[1],
        Highlight("a siren", 90.0, 95.0, 90.0, 1.0),
    ]
    # The siren holding a kept moment counts as kept; the whistle found at 60 does not.
    assert pipeline_export.chosen(
        merged,
        {("a whistle", 10.0): True, ("a siren", 90.0): True, ("a siren", 24.0): True},
        moments,
    ) == [merged[0], merged[1], merged[3]]
    # Dropping the found siren itself wins over the moment inside it.
    assert found[0] not in pipeline_export.chosen(merged, {("a siren", 20.0): False}, moments)


def test_settings_refuse_a_bad_grid_and_bad_rules() -> None:
    prompts = Prompts.parse("a whistle")
    with pytest.raises(Exception, match="hop"):
        pipeline.Settings(prompts, hop_s=0.0).check()
    with pytest.raises(Exception, match="threshold"):
        pipeline.Settings(prompts, HighlightSettings(threshold=1.5)).check()


@pytest.fixture(scope="module")
def vod(tmp_path_factory) -> Path:
    audio = make_vod(EVENTS, 100.0, SR, np.random.default_rng(11))
    folder = tmp_path_factory.mktemp("media")
    return write_media(folder / "Faces Night.flac", audio, SR)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def reviewed(clap, vod: Path, home: Path, tmp_path_factory) -> int:
    """The VOD run once through ``pipeline.run``; one found whistle kept, the other rejected,
    and a moment added (as from Search)."""
    store = Store(home)
    settings = pipeline.Settings(Prompts.parse(LABELS, BACKGROUND), RULES)
    out = tmp_path_factory.mktemp("first")
    result = pipeline.run(str(vod), clap, store, settings, out)
    whistles = [h for h in result.analysis.highlights if h.label == "a whistle"]
    assert len(whistles) == 2, result.analysis.highlights  # both whistles are found
    assert {p.name for p in result.written} == set(FILENAMES.values())
    aid = result.analysis.analysis_id
    assert aid is not None
    store.set_review(aid, "a whistle", whistles[0].start_s, True)
    store.set_review(aid, "a whistle", whistles[1].start_s, False)
    store.set_review(aid, ADDED[0], ADDED[1], True, end_s=ADDED[2])
    return aid


def _cli_files(vod: Path, home: Path, out: Path, monkeypatch) -> dict[str, bytes]:
    monkeypatch.setenv("HYPELINE_HOME", str(home))
    code = cli(
        [
            "analyze",
            str(vod),
            "--labels",
            ", ".join(LABELS),
            "--background",
            ", ".join(BACKGROUND),
            "--smoothing",
            str(RULES.smoothing_s),
            "--out",
            str(out),
            "--model",
            str(TINY_CLAP),
            "--device",
            "cpu",
            "--precision",
            "fp32",
        ]
    )
    assert code == 0
    return {fmt: (out / FILENAMES[fmt]).read_bytes() for fmt in FORMATS}


def _api_files(clap, vod: Path, home: Path) -> dict[str, bytes]:
    config = ServeConfig(media_roots=(vod.parent,), home=home)
    query = {"labels": ", ".join(LABELS), "smoothing_s": RULES.smoothing_s}
    with TestClient(create_app(config, clap)) as client:
        created = client.post(
            "/api/analyses", json={"source": vod.name, "labels": LABELS, "background": BACKGROUND}
        )
        assert created.status_code == 202, created.text
        job = created.json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/analyses/{job}").json()["status"] != "complete":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        files = {}
        for fmt in FORMATS:
            got = client.get(f"/api/analyses/{job}/exports/{fmt}", params=query)
            assert got.status_code == 200, got.text
            files[fmt] = got.content
        shown = client.get(f"/api/analyses/{job}/highlights", params=query).json()
    assert (ADDED[0], ADDED[1], ADDED[2]) in [
        (h["label"], h["start_s"], h["end_s"]) for h in shown["highlights"]
    ]
    return files


def _dashboard_files(aid: int, home: Path, monkeypatch) -> dict[str, bytes]:
    """What the Analyze page hands the browser's download buttons."""
    monkeypatch.setenv("HYPELINE_HOME", str(home))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    handed: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None and isinstance(path_or_data, bytes):
            handed[filename] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    seed(
        at.session_state,
        [
            Prompt("a whistle", "#636EFA"),
            Prompt("clicking", "#EF553B"),
            Prompt("silence", "#9E9E9E", background=True),
        ],
    )
    at.session_state.analysis_id = aid
    at.run()
    at.slider(key="smoothing_s").set_value(int(RULES.smoothing_s)).run()
    assert not at.exception, at.exception
    stem = "faces-night-"
    return {fmt: handed[stem + FILENAMES[fmt]] for fmt in FORMATS}


def test_the_cli_the_dashboard_and_the_api_export_the_same_files(
    clap, vod: Path, home: Path, reviewed: int, tmp_path: Path, monkeypatch
) -> None:
    from_cli = _cli_files(vod, home, tmp_path / "cli", monkeypatch)
    from_api = _api_files(clap, vod, home)
    from_page = _dashboard_files(reviewed, home, monkeypatch)
    doc = json.loads(from_cli["json"])
    found = [(h["label"], h["start_s"], h["end_s"]) for h in doc["highlights"]]
    # With keeps, the exports hold the kept: the kept whistle and the added moment; the
    # rejected whistle and the unreviewed clicking are left out.
    labels = [label for label, _, _ in found]
    assert ADDED in found and labels.count("a whistle") == 1 and len(found) == 2, found
    for fmt in FORMATS:
        assert from_api[fmt] == from_cli[fmt], fmt
        assert from_page[fmt] == from_cli[fmt], fmt


def test_run_refuses_a_prompt_too_long_before_opening_the_source(clap, tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    settings = pipeline.Settings(Prompts.parse([" ".join(["word"] * 200)], ()))
    missing = Source(path=tmp_path / "never-opened.wav", title="x", duration_s=None)
    with pytest.raises(Exception, match="too long"):
        pipeline.run(missing, clap, store, settings, tmp_path / "out")
    assert not (tmp_path / "out").exists()
