"""The dashboard with odd input: prompts the model cannot read, files with several tracks."""

from __future__ import annotations

from pathlib import Path

from emotion.library.store import Store
from tests import test_dashboard as dashboard
from tests.test_dashboard import analyzed, app
from tests.test_tracks import two_track_recording
from ui.prompt_rows import Prompt

# The dashboard tests' fixture: a fresh HYPELINE_HOME.
home = dashboard.home

WORDY = "a whistle " + "that goes on and on " * 40


def test_a_prompt_longer_than_the_text_tower_is_an_error_not_a_crash(
    home: Path, tmp_path: Path
) -> None:
    at = analyzed(
        app([Prompt(WORDY, "#636EFA"), Prompt("silence", "#9E9E9E", True)]),
        tmp_path / "anything.mp4",
    )
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("is too long for this model" in e and "the limit is 128" in e for e in errors), (
        errors
    )
    assert "job" not in at.session_state or at.session_state["job"] is None
    assert Store(home).analyses() == []


def test_a_file_with_two_tracks_offers_a_track_picker(home: Path, tmp_path: Path) -> None:
    recording = two_track_recording(tmp_path)
    at = app(
        [
            Prompt("a siren", "#636EFA"),
            Prompt("a whistle", "#EF553B"),
            Prompt("silence", "#9E9E9E", True),
        ]
    ).run()
    at.text_input(key="link").input(str(recording)).run()
    picker = at.selectbox(key="link_track")
    assert picker.options == [
        '1: opus, mono, 48000 Hz, "Game", default',
        '2: opus, mono, 48000 Hz, eng, "Mic"',
    ]
    assert picker.value == 1
    picker.select(2).run()
    at.button(key="analyze_link").click().run()
    assert not at.exception, at.exception
    (record,) = Store(home).analyses()
    assert record.complete and record.audio_track == 2
    moments = [r.moment for r in at.data_editor[0].value.itertuples(index=False)]
    assert moments == ["a whistle"]  # the mic track's event, not the game's siren
    # The result offers the other track as a second analysis of the same file.
    assert at.selectbox(key=f"track_{record.id}").value == 2
    at.selectbox(key=f"track_{record.id}").select(1).run()
    at.button(key="analyze_track").click().run()
    assert not at.exception, at.exception
    tracks = sorted(r.audio_track for r in Store(home).analyses())
    assert tracks == [1, 2]
    moments = [r.moment for r in at.data_editor[0].value.itertuples(index=False)]
    assert moments == ["a siren"]
