"""Alerts while live: hysteresis as in highlights, a cooldown per label, background silent;
with chat, held for its answer, and never held up by a chat that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emotion.chat.series import Reaction
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.live.alerts import Alert, AlertChat, AlertSettings, AlertTracker
from emotion.live.chat import ChatSettings
from emotion.live.ingest import ENDED
from emotion.live.monitor import Monitor
from emotion.live.settings import LiveSettings
from emotion.live.twitch_chat import Endpoint
from emotion.model.batcher import Batcher
from tests.httpserver import closed_port
from tests.media import write_media
from tests.synth import make_vod


def _run(tracker: AlertTracker, rows: list[list[float]], hop_s: float = 2.5):
    fired = []
    for i, row in enumerate(rows):
        for label, score in tracker.update(i * hop_s, np.array(row)):
            fired.append((label, i * hop_s, score))
    return fired


def test_a_label_fires_once_per_crossing_with_hysteresis() -> None:
    tracker = AlertTracker(["cheer"], AlertSettings(threshold=0.5, hysteresis=0.1, cooldown_s=0))
    # hovers around the line (0.55, 0.45, 0.6): one alert; falls below 0.4, rises: a second
    scores = [0.1, 0.55, 0.45, 0.6, 0.3, 0.7, 0.2]
    fired = _run(tracker, [[p, 1 - p] for p in scores])
    assert fired == [("cheer", 2.5, 0.55), ("cheer", 12.5, 0.7)]


def test_the_cooldown_holds_back_a_label_not_the_others() -> None:
    tracker = AlertTracker(["a", "b"], AlertSettings(threshold=0.5, cooldown_s=30))
    rows = [[0.9, 0.0], [0.0, 0.0], [0.9, 0.0], [0.0, 0.9]] + [[0.0, 0.0]] * 9 + [[0.9, 0.0]]
    fired = _run(tracker, rows)
    # "a" again at 5 s is inside its 30 s cooldown; "b" is not held back by "a"; "a" at 32.5
    assert [(label, t) for label, t, _ in fired] == [("a", 0.0), ("b", 7.5), ("a", 32.5)]


def test_after_a_restart_an_ongoing_moment_stays_quiet_and_the_next_one_fires() -> None:
    tracker = AlertTracker(["a"], AlertSettings(threshold=0.5, cooldown_s=30))
    assert _run(tracker, [[0.9], [0.9]]) == [("a", 0.0, 0.9)]  # the killed run, replayed
    tracker.forget_cooldowns()
    # still above the line: the same moment; below, then above within 30 s: a new one
    fired = [tracker.update(t, np.array([p])) for t, p in [(5.0, 0.9), (7.5, 0.1), (10.0, 0.8)]]
    assert fired == [[], [], [("a", 0.8)]]


def test_background_columns_never_fire() -> None:
    tracker = AlertTracker(["a whistle"], AlertSettings())
    # the second column (a background prompt) is at 0.99 throughout
    assert _run(tracker, [[0.01, 0.99]] * 10) == []


def test_settings_are_checked_and_alerts_serialise_as_the_contract() -> None:
    with pytest.raises(HypelineError, match="between 0 and 1"):
        AlertTracker(["a"], AlertSettings(threshold=1.5))
    alert = Alert("cheer", 0.91, 12.5, "2026-01-01T00:00:00.000Z", 3, "https://x.tv/c")
    assert json.loads(json.dumps(alert.to_dict())) == {
        "type": "alert",
        "label": "cheer",
        "score": 0.91,
        "stream_time_s": 12.5,
        "detected_at": "2026-01-01T00:00:00.000Z",
        "analysis_id": 3,
        "source": "https://x.tv/c",
    }


def test_an_alerts_chat_is_said_as_a_highlights_chat_is() -> None:
    def answer(messages: int, complete: bool, top: tuple[str, ...] = ("KEKW", "Pog")) -> str:
        return AlertChat("hype", messages, 4.14, 9.0, top, 8.0, complete).why()

    said = Reaction(37, 4.14, ("KEKW", "Pog")).why()  # the one format (Highlight.why's too)
    assert answer(37, True) == said == "chat ×4.1, 37 messages, KEKW, Pog"
    assert answer(37, False) == said + " (partly read)"  # no usual rate, or a span unheard
    assert answer(3, True, ()) == "chat ×4.1, 3 messages"
    assert (answer(0, True), answer(0, False)) == ("chat quiet", "chat not read")


@pytest.mark.slow  # a 14 s file read in real time
@pytest.mark.decoder
def test_a_chat_that_cannot_be_reached_leaves_the_sound_alone(clap, tmp_path: Path) -> None:
    sr = 48_000
    media = write_media(
        tmp_path / "vod.flac",
        make_vod([("clicking", 3.0, 11.0)], 14.0, sr, np.random.default_rng(9)),
        sr,
    )
    chat = ChatSettings(
        "hypechannel", lag_s=0.0, endpoint=Endpoint("127.0.0.1", closed_port(), False)
    )
    settings = LiveSettings(
        labels=("a whistle", "a siren", "clicking"),
        background=("silence",),
        realtime=True,
        chat=chat,
    )
    alerts, notes, sent_at = [], [], []
    monitor = Monitor(
        str(media),
        settings,
        Batcher(clap),
        Store(tmp_path / "home"),
        on_alert=lambda a: (alerts.append(a), sent_at.append(monitor.clock.at())),
        on_note=notes.append,
    )
    monitor.run()
    assert monitor.error is None and monitor.state == ENDED
    assert monitor.store.analysis(monitor.record.id).complete
    (alert,) = alerts
    assert alert.label == "clicking" and alert.stream_time_s in (0.0, 2.5, 5.0)
    # sent once its span had passed (the 10 s after it, lag 0), with what chat could say
    assert sent_at[0] >= alert.stream_time_s + 10.0
    assert alert.chat is not None and (alert.chat.messages, alert.chat.complete) == (0, False)
    assert any(n.startswith("chat: reconnecting to #hypechannel") and "refused" in n for n in notes)
    # the monitor has ended: the chat reads closed, not the reader's last "reconnecting"
    assert monitor.chat_follower is not None and not monitor.chat_follower.thread.is_alive()
    assert monitor.chat_state == "closed"
    chat_now = monitor.chat_now()
    assert chat_now is not None and (chat_now.state, chat_now.connected) == ("closed", False)
