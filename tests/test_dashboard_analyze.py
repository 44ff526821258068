"""What a new user meets on the Analyze page: a run that fails, the player, the table's why.

A failed run says its sentence in sight and hides the previous VOD's results; Play is a
button per highlight that plays it from its start to its end, and nothing else (a sidebar
change, a new analysis) moves the player or makes it play.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion.analysis import score
from emotion.chat import stored as stored_chat
from emotion.library.store import Store
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import DEFAULT_TEMPLATE
from tests import test_dashboard as dashboard
from tests.media import write_media
from tests.synth import make_vod
from tests.test_dashboard import BACKGROUND, LABELS, SR, analyzed, app, rows

# The dashboard tests' fixtures: a fresh HYPELINE_HOME, and their synthetic VOD.
home = dashboard.home
vod = dashboard.vod


@pytest.fixture(scope="module")
def other_vod(tmp_path_factory) -> Path:
    """A second, shorter VOD (audio only): another analysis."""
    audio = make_vod([("clicking", 5.0, 12.0)], 20.0, SR, np.random.default_rng(11))
    return write_media(tmp_path_factory.mktemp("other") / "other-vod.flac", audio, SR)


def player(at: AppTest):
    """The page's one player (``st.video`` or ``st.audio``) as its proto."""
    (media,) = at.get("video") or at.get("audio")
    return media.proto


def click_play(at: AppTest, row: int) -> AppTest:
    """Press the Play button of a row of the highlights table, as the browser does.

    AppTest has no API for a ButtonColumn yet: the click is the table's trigger value,
    a JSON ``{row, label}``, sent under the widget id the table's proto names.
    """
    (editor,) = at.data_editor
    widget_id = editor.proto.button_click_widgets["play"]
    states = at._tree.get_widget_states()
    click = states.widgets.add()
    click.id = widget_id
    click.string_trigger_value.data = json.dumps({"row": row, "label": "Play"})
    return at._run(states)


def highlights(home: Path, clap):
    (record,) = [r for r in Store(home).analyses() if r.source.path.name == "synthetic-vod.mp4"]
    analysis = score(
        record,
        Store(home).vectors(record),
        clap,
        LABELS,
        BACKGROUND,
        DEFAULT_TEMPLATE,
        HighlightSettings(),
    )
    return analysis.highlights


def test_a_failed_run_says_why_in_sight_and_hides_the_other_vods_results(
    home: Path, vod: Path
) -> None:
    at = analyzed(app(), vod)
    assert not at.exception and rows(at)
    at.text_input(key="link").input(str(home / "nope.mp4"))
    at.button(key="analyze_link").click().run()
    assert not at.exception, at.exception
    sentence = f"File not found: {home / 'nope.mp4'}. Check the path and try again."
    assert [e.value for e in at.error] == [sentence]
    (status,) = at.status
    assert status.label == "Stopped by an error"
    assert not status.error  # the sentence is not folded away inside the status box
    assert not at.data_editor and not at.get("plotly_chart") and not at.get("video")
    hidden = "The results shown before are hidden while this error stands: open them again from the Library."
    assert [c.value for c in at.caption if "hidden" in c.value] == [hidden]
    # A sidebar change reruns the page: the error still stands, the results stay hidden.
    at.sidebar.slider(key="smoothing_s").set_value(5).run()
    assert [e.value for e in at.error] == [sentence] and not at.status
    assert not at.data_editor and not at.get("video")
    # Opening the analysis again brings its results back, without the error.
    at.button(key="library_open").click().run()
    assert not at.exception and not at.error
    assert rows(at) and player(at).start_time == 0


def test_a_failed_first_run_shows_its_error_without_the_first_steps_hint(home: Path) -> None:
    at = app().run()
    at.text_input(key="link").input("https://example.invalid/v/1")
    at.button(key="analyze_link").click().run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert not at.status[0].error
    at.run()
    assert [e.value for e in at.error] == [error.value] and not at.info


def test_the_table_says_why_each_highlight_is_one(home: Path, vod: Path, clap) -> None:
    at = analyzed(app(), vod)
    (editor,) = at.data_editor
    table = editor.value
    expected = highlights(home, clap)
    assert list(table["why"]) == [h.why() for h in expected]
    assert all(
        w.startswith(f"{h.label} {h.score:.2f}")
        for w, h in zip(table["why"], expected, strict=True)
    )
    assert list(table["play"]) == [":material/play_arrow: Play"] * len(expected)


def test_the_table_shows_a_still_of_each_highlight_of_a_video_and_none_for_audio(
    home: Path, vod: Path, other_vod: Path, clap
) -> None:
    at = analyzed(app(), vod)
    assert not at.exception, at.exception
    (editor,) = at.data_editor
    table = editor.value
    assert list(table.columns[:3]) == ["play", "thumbnail", "moment"]  # the keyboard path's order
    expected = highlights(home, clap)
    assert len(table) == len(expected) > 0
    prefix = "data:image/jpeg;base64,"
    assert all(uri.startswith(prefix) for uri in table["thumbnail"]), list(table["thumbnail"])
    assert all(
        base64.b64decode(uri.removeprefix(prefix))[:3] == b"\xff\xd8\xff"  # a JPEG
        for uri in table["thumbnail"]
    )
    (record,) = [r for r in Store(home).analyses() if r.source.path.name == "synthetic-vod.mp4"]
    folder = home / "thumbnails" / str(record.id)
    stills = sorted(folder.glob("*.jpg"))
    assert len(stills) == len(expected) and all(p.stat().st_size > 0 for p in stills)
    kept = {p: p.stat().st_mtime_ns for p in stills}
    # A rerun (a sidebar change) takes no still again: the files are kept.
    at.sidebar.slider(key="smoothing_s").set_value(5).run()
    assert not at.exception, at.exception
    assert {p: p.stat().st_mtime_ns for p in stills} == kept

    # An audio-only VOD has no still column.
    at.text_input(key="link").input(str(other_vod))
    at.button(key="analyze_link").click().run()
    assert not at.exception, at.exception
    (editor,) = at.data_editor
    assert "thumbnail" not in editor.value.columns and len(editor.value)


def test_no_still_column_when_ffmpeg_fails_or_the_video_is_gone(
    home: Path, vod: Path, tmp_path: Path, monkeypatch
) -> None:
    from emotion.errors import ExportError
    from ui import results

    def failing(*args, **kwargs):
        raise ExportError("ffmpeg could not take the thumbnail")

    with monkeypatch.context() as patched:
        patched.setattr(results, "write_stills", failing)
        at = analyzed(app(), vod)
        assert not at.exception, at.exception
        (editor,) = at.data_editor
        assert "thumbnail" not in editor.value.columns and len(editor.value)

    copy = shutil.copyfile(vod, tmp_path / "moved-vod.mp4")
    at = analyzed(app(), copy)
    (editor,) = at.data_editor
    assert "thumbnail" in editor.value.columns
    copy.unlink()
    at.sidebar.slider(key="smoothing_s").set_value(5).run()
    assert not at.exception, at.exception
    (editor,) = at.data_editor
    assert "thumbnail" not in editor.value.columns and len(editor.value)


def test_play_plays_a_highlight_to_its_end_and_nothing_else_moves_the_player(
    home: Path, vod: Path, other_vod: Path, clap
) -> None:
    at = analyzed(app(), vod)
    fresh = player(at)
    assert (fresh.start_time, fresh.end_time, fresh.autoplay) == (0, 0, False)  # 0: no end
    first, second = highlights(home, clap)[:2]

    click_play(at, 0)
    assert not at.exception, at.exception
    played = player(at)
    assert played.start_time == int(first.start_s) and played.autoplay
    assert played.end_time == math.ceil(first.end_s)  # stops at the highlight's end
    assert any(c.value.startswith(f"Playing from {rows(at)[0][1]} to ") for c in at.caption)

    # A sidebar change re-draws the very same player: no re-seek, no second autoplay.
    at.sidebar.slider(key="smoothing_s").set_value(5).run()
    assert player(at) == played
    at.toggle(key="keep_playing").set_value(True).run()
    assert player(at) == played  # the choice is for the next Play

    # Play again on the same row is a new player element (the browser seeks again)...
    click_play(at, 0)
    again = player(at)
    assert again.id != played.id and again.start_time == played.start_time
    # ... and with "Keep playing" on, it plays on past the end.
    click_play(at, 1)
    on = player(at)
    assert (on.start_time, on.end_time, on.autoplay) == (int(second.start_s), 0, True)

    # A new analysis starts silent at 0:00: the last VOD's play point is gone.
    at.text_input(key="link").input(str(other_vod))
    at.button(key="analyze_link").click().run()
    assert not at.exception, at.exception
    assert "play_point" not in at.session_state
    new = player(at)
    assert (new.start_time, new.end_time, new.autoplay) == (0, 0, False)
    assert any(c.value == "Playing from 0:00" for c in at.caption)


def _chat_csv(bursts: dict[float, int]) -> bytes:
    """A chat replay (CSV): a message every 5 s, and bursts of many after some moments."""
    rows = ["time_s,author,text"]
    rows += [f"{t:.1f},viewer{t:.0f},hi" for t in np.arange(0.0, 90.0, 5.0)]
    for at_s, n in bursts.items():
        rows += [f"{at_s + i * 0.2:.1f},fan{i},Pog W" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def test_a_chat_replay_uploaded_beside_a_vod_judges_its_highlights(
    home: Path, vod: Path, clap
) -> None:
    at = dashboard.app().run()
    at.text_input(key="link").input(str(vod))
    at.file_uploader(key="link_chat").upload("chat.csv", _chat_csv({21.0: 40}), "text/csv")
    at.run()
    at.button(key="analyze_link").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    (record,) = Store(home).analyses()
    attached = stored_chat.load(Store(home), record.id)  # stored with the analysis, once
    assert attached is not None and attached.format == "csv" and attached.n_messages == 18 + 40
    (chart,) = at.get("plotly_chart")
    lanes = [t for t in json.loads(chart.proto.spec)["data"] if t.get("name") == "chat"]
    assert len(lanes) == 1
    # the burst (0:21–0:29, after the whistle), in its 10 s bin: a spike, its emotes told
    hot = [c for c in lanes[0]["customdata"] if c[3]]
    assert [(c[1], c[2]) for c in hot] == [("0:20", "Pog, W")], lanes[0]["customdata"]
    why = [w for w in at.data_editor[0].value["why"]]
    assert any("chat ×" in w for w in why), why


def test_the_sidebars_chat_keywords_are_kept_whole_when_the_chat_is_attached(
    home: Path, vod: Path, clap
) -> None:
    # A lone "catJAM" in each of its windows: under the two messages a cell needs to be
    # stored, unless it is a keyword given when the chat is attached (the sidebar's).
    rows = ["time_s,author,text"] + [f"{t:.1f},fan{t:.0f},catJAM" for t in (12.0, 47.0, 81.0)]
    at = dashboard.app().run()
    at.text_input(key="chat_keywords").input("catJAM, Pog").run()
    at.text_input(key="link").input(str(vod))
    at.file_uploader(key="link_chat").upload(
        "chat.csv", ("\n".join(rows) + "\n").encode(), "text/csv"
    )
    at.run()
    at.button(key="analyze_link").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    (record,) = Store(home).analyses()
    attached = stored_chat.load(Store(home), record.id, ("catJAM",))
    assert attached is not None and not attached.notes, attached and attached.notes
    assert sum(b.get("catJAM", 0) for b in attached.reactions.series.tokens) == 3


def test_a_file_that_is_not_a_chat_replay_is_said_before_any_run(home: Path, vod: Path) -> None:
    at = dashboard.app().run()
    at.text_input(key="link").input(str(vod))
    at.file_uploader(key="link_chat").upload("notes.txt", b"just some notes\n", "text/plain")
    at.run()
    at.button(key="analyze_link").click().run()
    assert not at.exception
    (error,) = at.error
    assert "chat" in error.value.lower() and not Store(home).analyses()
