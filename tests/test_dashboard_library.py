"""The Library page headless (AppTest): sizes in words, Open, and a rename that reaches Analyze."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion.library.store import Store
from tests.conftest import TINY_CLAP
from tests.library import analysed_library
from ui.prompt_rows import Prompt, seed

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
TIMEOUT_S = 120
PROMPTS = [Prompt("a whistle", "#636EFA"), Prompt("silence", "#9E9E9E", True)]


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


def library_page() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    seed(at.session_state, PROMPTS)
    at.run()
    at.switch_page("pages/library.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_sizes_read_in_kb_or_mb_not_0_mb(home) -> None:
    path, ids = home
    at = library_page()
    table = at.dataframe[0].value
    store = Store(path)
    sizes = {store.analysis(i).title: store.size_bytes(store.analysis(i)) for i in ids.values()}
    assert all(n < 1_000_000 for n in sizes.values())  # small analyses: vectors only
    shown = dict(zip(table["title"], table["size"], strict=True))
    for title, n in sizes.items():
        assert re.fullmatch(r"\d+(\.\d)? kB", shown[title]), shown
        value = float(shown[title].removesuffix(" kB"))
        assert abs(value - n / 1000) <= 0.5, (title, n, shown[title])
    assert "size (MB)" not in table.columns


def test_open_shows_the_analysis_on_the_analyze_page_and_keeps_the_sidebar(home) -> None:
    _, ids = home
    at = library_page()
    at.sidebar.slider(key="threshold").set_value(0.3).run()
    friday = ids["Friday Stream"]
    at.selectbox(key="library_pick").set_value(friday).run()
    at.button(key="library_go").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Find the moments"]
    assert at.session_state["analysis_id"] == friday
    assert at.main.subheader[0].value == "Friday Stream"
    assert at.selectbox(key="library").value == friday  # the page's own list agrees
    assert at.get("plotly_chart")  # scored, with the sidebar as it was
    assert at.sidebar.slider(key="threshold").value == 0.3
    assert at.session_state["settings"].highlights.threshold == 0.3
    assert [t.value for t in at.sidebar.text_input if t.key.startswith("prompt_text_")] == [
        "a whistle",
        "silence",
    ]


def test_a_rename_reaches_the_analyze_pages_heading(home) -> None:
    path, ids = home
    tuesday = ids["Tuesday Stream"]
    at = library_page()
    at.selectbox(key="library_pick").set_value(tuesday).run()
    at.text_input(key=f"library_name_{tuesday}").input("Tuesday Best")
    at.button(key="library_rename").click().run()
    assert Store(path).analysis(tuesday).title == "Tuesday Best"
    at.button(key="library_go").click().run()
    assert not at.exception, at.exception
    assert at.main.subheader[0].value == "Tuesday Best"
    # Renamed again while the page is open: the next run reads the library's name. (AppTest
    # does not follow a script's st.switch_page for later runs; a browser's address does.)
    at.switch_page("pages/analyze.py")
    Store(path).rename(tuesday, "Tuesday Finals")
    at.run()
    assert at.main.subheader[0].value == "Tuesday Finals"
    Store(path).rename(tuesday, None)  # back to the VOD's own title
    at.run()
    assert at.main.subheader[0].value == "Tuesday Stream"


def test_a_folder_analysed_from_the_library_page_with_a_broken_file_said(
    home, tmp_path: Path
) -> None:
    import numpy as np

    from tests.media import write_media
    from tests.synth import make_vod

    path, ids = home
    folder = tmp_path / "archive"
    folder.mkdir()
    write_media(
        folder / "Sunday.flac",
        make_vod([("a whistle", 5.0, 12.0)], 30.0, 48_000, np.random.default_rng(5)),
        48_000,
    )
    (folder / "broken.mp4").write_text("not a video")
    at = library_page()
    at.text_area(key="batch_inputs").input(str(folder))
    at.button(key="batch_start").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value  # the batch's, above the library's
    assert list(table["VOD"]) == ["Sunday", str(folder / "broken.mp4")]  # in path order
    assert list(table["highlights"]) == [1, 0] and table["windows"][0] == 5
    assert not table["error"][0] and "broken.mp4" in table["error"][1]
    assert at.status[0].label == "Analyzed 1 of 2 VOD(s), 1 failed"
    titles = list(at.dataframe[1].value["title"])
    assert "Sunday" in titles and len(titles) == len(ids) + 1
    (csv_file,) = (path / "exports").glob("batch-*/batch.csv")
    assert csv_file.read_text().count("\n") == 3
