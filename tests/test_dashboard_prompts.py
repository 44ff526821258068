"""The sidebar's add boxes (streamlit.testing AppTest, with the fixture checkpoint).

A submission can reach the sidebar more than once (the browser keeps reporting the typed
text until it has drawn the emptied box, e.g. with the model poll's fragment runs); a
prompt already listed is then skipped, never added as a second row "given twice".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests import test_dashboard as dashboard
from tests.conftest import TINY_CLAP
from ui.prompt_rows import Prompt, seed

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
RUN_TIMEOUT_S = 120
vod = dashboard.vod  # the dashboard tests' synthetic VOD


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return tmp_path / "home"


def rows(at: AppTest) -> list[tuple[str, bool]]:
    state = at.session_state
    return [(state[f"prompt_text_{pid}"], state[f"prompt_bg_{pid}"]) for pid in state["prompt_ids"]]


def errors(at: AppTest) -> list[str]:
    """What is wrong with the sidebar's prompts (said when Analyze is pressed) and what the
    page shows as errors."""
    problem = at.session_state["settings"].problem
    return [*([problem] if problem else []), *(e.value for e in at.error)]


def test_a_prompt_added_twice_is_one_row_and_no_error(home: Path) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    seed(at.session_state, [Prompt("clicking", "#EF553B"), Prompt("silence", "#9E9E9E", True)])
    at.run()
    assert not at.exception and not errors(at)

    at.sidebar.text_input(key="add_moments").input("a whistle, a whistle").run()
    assert rows(at) == [("clicking", False), ("silence", True), ("a whistle", False)]
    assert at.sidebar.text_input(key="add_moments").value == ""  # the box is emptied
    assert not at.exception and not errors(at)
    assert not at.toast  # a repeat within one submission is no news

    # The same submission once more (as a browser reports it until it has drawn the emptied
    # box), or the visitor typing a listed prompt again, in other spacing or case: no row.
    at.sidebar.text_input(key="add_moments").input("a whistle").run()
    assert rows(at) == [("clicking", False), ("silence", True), ("a whistle", False)]
    assert not at.exception and not errors(at)
    at.sidebar.text_input(key="add_moments").input("A  Whistle, clicking").run()
    assert [t.value for t in at.toast] == ["'A  Whistle', 'clicking' are already there."]
    assert len(rows(at)) == 3 and not errors(at)

    at.run()
    at.run()
    assert rows(at) == [("clicking", False), ("silence", True), ("a whistle", False)]
    assert not at.exception and not errors(at)
    assert all("given twice" not in e for e in errors(at))

    # A new prompt in the same box beside a listed one: only the new one is added.
    at.sidebar.text_input(key="add_background").input("silence, room tone").run()
    assert rows(at)[3:] == [("room tone", True)]
    assert [t.value for t in at.toast] == ["'silence' is already there."]
    assert not errors(at)


def test_two_rows_edited_to_one_prompt_are_still_refused(home: Path) -> None:
    """Rows the visitor made equal are two distinct prompts: the check still says so."""
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    seed(at.session_state, [Prompt("a whistle", "#636EFA"), Prompt("clicking", "#EF553B")])
    at.run()
    second = at.session_state["prompt_ids"][1]
    at.sidebar.text_input(key=f"prompt_text_{second}").input("a whistle").run()
    assert any("given twice" in e for e in errors(at)), errors(at)


def _cat_jam_chat() -> bytes:
    """A chat replay (CSV): a message every 5 s, and after the whistle at 20 s a burst of 40
    that type Pog (a default keyword) and catJAM (not one)."""
    rows = ["time_s,author,text"]
    rows += [f"{t:.1f},viewer{t:.0f},hi" for t in np.arange(0.0, 90.0, 5.0)]
    rows += [f"{21.0 + i * 0.2:.1f},fan{i},Pog catJAM" for i in range(40)]
    return ("\n".join(rows) + "\n").encode()


def test_the_chat_keywords_edited_in_the_sidebar_change_the_highlights_why(
    home: Path, vod: Path
) -> None:
    at = dashboard.app().run()
    at.text_input(key="link").input(str(vod))
    at.file_uploader(key="link_chat").upload("chat.csv", _cat_jam_chat(), "text/csv")
    at.run()
    at.button(key="analyze_link").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    before = list(at.data_editor[0].value["why"])
    (whistle,) = [w for w in before if w.startswith("a whistle")]
    assert " · chat ×" in whistle and whistle.endswith(" messages, Pog"), before

    # Re-counted from the stored chat (the upload is not read again): catJAM named instead.
    at.sidebar.text_input(key="chat_keywords").input("catJAM, KEKW").run()
    assert not at.exception and not errors(at)
    assert at.session_state["settings"].chat_keywords == ("catJAM", "KEKW")
    after = list(at.data_editor[0].value["why"])
    assert after == [w.removesuffix("Pog") + "catJAM" if w == whistle else w for w in before]

    # A keyword of three words: one sentence, shown in the sidebar and kept as the problem.
    at.sidebar.text_input(key="chat_keywords").input("catJAM, no way out").run()
    assert not at.exception
    problem = at.session_state["settings"].problem
    assert problem is not None and "'no way out' has 3 words" in problem
    assert problem in [e.value for e in at.sidebar.error]
