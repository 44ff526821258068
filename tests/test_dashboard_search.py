"""The Search and Library pages headless (AppTest), on the analysed synthetic library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion import pipeline_export
from emotion.export import write_exports
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight, with_moments
from tests.conftest import TINY_CLAP
from tests.library import analysed_library, events_of
from ui.prompt_rows import Prompt, seed
from ui.results import PlayPoint

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def library(clap, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return analysed_library(clap, tmp_path_factory)


@pytest.fixture
def home(library, tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, int]]:
    copy = tmp_path / "home"
    shutil.copytree(library[0], copy)
    monkeypatch.setenv("HYPELINE_HOME", str(copy))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return copy, library[1]


def page(name: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(f"pages/{name}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def results(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and "·" in m.value]


def test_a_text_search_ranks_moments_and_plays_one(home) -> None:
    _, ids = home
    at = page("search")
    at.text_input(key="search_text").input("a siren")
    at.button(key="search_go_text").click()
    at.run()
    assert not at.exception
    count, rest = at.subheader[0].value.split(" ", 1)
    assert rest == "moments for “a siren”" and int(count) == len(results(at)) > 2
    lines = results(at)
    titles = {ids[t]: t for t in ids}
    sirens = events_of("a siren", ids)
    # The two siren events come first: "**1.** Friday Stream · `0:00:15–0:00:40` · 0.65"
    assert {line.split(" · ")[0].split("** ")[1] for line in lines[:2]} == {
        titles[aid] for aid, _, _ in sirens
    }
    at.button(key="search_play_1").click()
    at.run()
    assert not at.exception
    (audio,) = at.get("audio")
    first = lines[0].split("`")[1].split("–")[0]
    h, m, s = (int(x) for x in first.split(":"))
    assert audio.proto.start_time == h * 3600 + m * 60 + s


def test_the_floor_is_shown_and_leaves_out_weak_moments(home) -> None:
    at = page("search")
    assert at.number_input(key="search_min").value == 0.0  # the default, in sight
    at.text_input(key="search_text").input("a whistle")
    at.slider(key="search_top").set_value(100)
    at.button(key="search_go_text").click()
    at.run()
    floored = results(at)
    assert floored and all(float(line.rsplit(" · ", 1)[1]) >= 0.0 for line in floored)
    at.number_input(key="search_min").set_value(-1.0)
    at.button(key="search_go_text").click()
    at.run()
    assert not at.exception and len(results(at)) > len(floored)


def test_add_to_highlights_keeps_the_moment_for_exports(home, tmp_path: Path) -> None:
    path, ids = home
    at = page("search")
    at.text_input(key="search_text").input("hissing")
    at.button(key="search_go_text").click()
    at.run()
    at.button(key="search_add_1").click()
    at.run()
    assert not at.exception
    ((aid, start_s, end_s),) = events_of("hissing", ids)
    store = Store(path)
    (moment,) = store.kept_moments(aid)
    assert moment[0] == "hissing" and moment[1] < end_s and moment[2] > start_s
    assert store.reviews(aid) == {("hissing", moment[1]): True}

    # On the Analyze page the kept moment is a highlight, ticked Keep, and the export.
    seed(at.session_state, [Prompt("a whistle", "#636EFA"), Prompt("silence", "#9E9E9E", True)])
    at.session_state.analysis_id = aid
    at.switch_page("pages/analyze.py")
    at.run()
    assert not at.exception, at.exception
    table = at.data_editor[0].value
    kept = table[table["moment"] == "hissing"]
    assert len(kept) == 1 and bool(kept["keep"].iloc[0])
    assert any(m.value == f"**Export 1 of {len(table)} highlights**" for m in at.markdown)
    assert store.analysis(aid).last_labels == ("a whistle",)


def test_a_kept_moment_joins_the_highlights_and_the_exports(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    source = Source(path=tmp_path / "a.wav", title="A", duration_s=120.0)
    record = store.open_analysis(source, "id:a", "m", 10.0, 5.0, 4)
    store.set_review(record.id, "crowd screaming", 50.0, True, end_s=65.0)
    found = [Highlight("a siren", 20.0, 35.0, 25.0, 0.8)]
    merged = with_moments(found, store.kept_moments(record.id))
    assert merged == [found[0], Highlight("crowd screaming", 50.0, 65.0, 50.0, 1.0)]
    # Kept by hand, so it is what the export panel takes (the unreviewed siren is not).
    chosen = pipeline_export.chosen(merged, store.reviews(record.id))
    assert [h.label for h in chosen] == ["crowd screaming"]
    # Already a highlight: not twice.
    assert with_moments(merged, store.kept_moments(record.id)) == merged


def test_export_files_hold_a_kept_moment(clap, home, tmp_path: Path) -> None:
    import json

    from emotion.analysis import score

    path, ids = home
    store = Store(path)
    record = store.analysis(ids["Monday Stream"])
    analysis = score(record, store.vectors(record), clap, ["a whistle"], ["silence"])
    store.set_review(record.id, "like a siren", 55.0, True, end_s=70.0)
    analysis.highlights = with_moments(analysis.highlights, store.kept_moments(record.id))
    chosen = pipeline_export.chosen(analysis.highlights, store.reviews(record.id))
    analysis.highlights = chosen
    write_exports(analysis, tmp_path / "out", ["json"])
    doc = json.loads((tmp_path / "out" / "highlights.json").read_text())
    assert [(h["label"], h["start_s"], h["end_s"]) for h in doc["highlights"]] == [
        ("like a siren", 55.0, 70.0)
    ]


def test_like_a_moment_and_errors_show_as_sentences(home) -> None:
    _, ids = home
    at = page("search")
    at.selectbox(key="search_like_vod").set_value(ids["Monday Stream"])
    at.text_input(key="search_like_at").input("0:00:20")
    at.button(key="search_go_moment").click()
    at.run()
    assert not at.exception
    first = results(at)[0]
    assert first.startswith("**1.** Friday Stream")  # the other whistle, not itself
    at.text_input(key="search_like_at").input("1:75")
    at.button(key="search_go_moment").click()
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "'1:75' is not a time; give it as h:mm:ss, m:ss or seconds, e.g. 1:02:03."
    ]


def test_search_in_an_empty_library_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    at = page("search")
    assert "Nothing analysed with this model yet" in at.info[0].value


def test_library_lists_renames_and_deletes_with_confirmation(home) -> None:
    path, ids = home
    at = page("library")
    table = at.dataframe[0].value
    assert sorted(table["title"]) == ["Friday Stream", "Monday Stream", "Tuesday Stream"]
    assert set(table["duration"]) == {"0:02:00"}
    aid = ids["Tuesday Stream"]
    at.selectbox(key="library_pick").set_value(aid)
    at.run()
    at.text_input(key=f"library_name_{aid}").input("Tuesday Best")
    at.button(key="library_rename").click()
    at.run()
    assert not at.exception
    assert "Tuesday Best" in list(at.dataframe[0].value["title"])
    assert Store(path).analysis(aid).title == "Tuesday Best"
    at.button(key="library_delete").click()
    at.run()
    assert "Delete **Tuesday Best**" in at.warning[0].value
    assert (path / "embeddings" / f"{aid}.f32").is_file()  # asked, not done
    at.button(key="library_delete_yes").click()
    at.run()
    assert not at.exception
    assert not (path / "embeddings" / f"{aid}.f32").exists()
    assert "Tuesday Best" not in list(at.dataframe[0].value["title"])
    assert len(at.dataframe[0].value) == 2


def test_more_like_this_on_the_analyze_page_searches_the_moment_playing(home) -> None:
    _, ids = home
    monday = ids["Monday Stream"]
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    seed(at.session_state, [Prompt("a whistle", "#636EFA"), Prompt("silence", "#9E9E9E", True)])
    at.session_state.analysis_id = monday
    at.session_state.play_point = PlayPoint(monday, 20.0, 35.0)  # Play pressed on 0:20
    at.run()
    assert not at.exception, at.exception
    at.button(key="more_like_this").click()
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.endswith("moments like Monday Stream at 0:00:20")
    assert at.text_input(key="search_like_at").value == "0:00:20"
    assert results(at)[0].startswith("**1.** Friday Stream")  # the other whistle
