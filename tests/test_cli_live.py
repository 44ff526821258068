"""``python -m emotion live`` as a user runs it: bad input, alerts on stdout, kill -9 and resume."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.export import FILENAMES
from emotion.library.store import Store
from emotion.media.audio import probe
from hypeline_cli.main import main
from tests.conftest import TINY_CLAP
from tests.httpserver import closed_port, serve_folder
from tests.ircserver import IrcServer
from tests.media import write_media
from tests.running import n_done
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
LABELS = "a whistle, a siren, clicking"


def _live(*args: str, home: Path, env: dict[str, str] | None = None, **kw) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "emotion", "live", *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def _refused(*args: str, home: Path, capsys) -> str:
    code = main(["live", *args, "--labels", LABELS])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not (home / "library.sqlite").exists()  # nothing written
    return lines[0]


def test_bad_sources_are_refused_in_one_sentence(tmp_path: Path, monkeypatch, capsys) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HYPELINE_HOME", str(home))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    media = write_media(tmp_path / "vod.wav", np.zeros(SR, dtype=np.float32), SR)
    assert "add --realtime" in _refused(str(media), home=home, capsys=capsys)
    unreachable = f"http://127.0.0.1:{closed_port()}/live.m3u8"
    assert "Could not reach 127.0.0.1" in _refused(unreachable, home=home, capsys=capsys)
    (tmp_path / "page.m3u8").write_text("<html>not a playlist</html>")
    (tmp_path / "vod.m3u8").write_text("#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n")
    with serve_folder(tmp_path) as server:
        assert "not an HLS playlist" in _refused(server.url("page.m3u8"), home=home, capsys=capsys)
        vod = _refused(server.url("vod.m3u8"), home=home, capsys=capsys)
        assert "not a live stream" in vod and "python -m emotion analyze" in vod


def test_kill_9_and_restart_continue_the_same_analysis_after_a_gap(tmp_path: Path) -> None:
    events = [("a whistle", 4.0, 10.0), ("a siren", 19.0, 26.0)]
    media = write_media(
        tmp_path / "vod.flac", make_vod(events, 30.0, SR, np.random.default_rng(4)), SR
    )
    home, out = tmp_path / "home", tmp_path / "out"
    args = (
        str(media),
        "--realtime",
        "--labels",
        LABELS,
        "--background",
        "silence",
        "--out",
        str(out),
    )
    first = _live(*args, home=home)
    deadline = time.monotonic() + 90
    while sum(n_done(home).values()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first_out, _ = first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL and not out.exists()
    (whistle,) = [json.loads(line) for line in first_out.splitlines()]
    assert whistle["type"] == "alert" and whistle["label"] == "a whistle"
    assert whistle["stream_time_s"] in (0.0, 2.5, 5.0) and whistle["score"] >= 0.5
    killed_at = max(n_done(home).values())

    second = _live(*args, home=home)
    second_out, second_err = second.communicate(timeout=120)
    assert second.returncode == 0, second_err
    alerts = [json.loads(line) for line in second_out.splitlines()]
    (record,) = Store(home).analyses()  # the same analysis, continued
    assert record.complete and record.kind == "live" and record.id == whistle["analysis_id"]
    assert {a["analysis_id"] for a in alerts} == {record.id}
    ((gap_start_s, gap_end_s),) = Store(home).gaps(record.id)
    assert gap_start_s == killed_at * 2.5 and gap_end_s > gap_start_s
    # the file is read again from its start after the gap: its events come again, in order
    assert [a["label"] for a in alerts] == ["a whistle", "a siren"]
    assert all(a["stream_time_s"] >= gap_end_s - 10.0 for a in alerts)
    assert record.duration_s >= gap_end_s + 29.0
    assert "finished" in second_err and sorted(p.name for p in out.iterdir()) == sorted(
        FILENAMES.values()
    )
    # both runs' recordings, joined on the stream's clock (silence in the gap)
    assert probe(record.source.path).duration_s == pytest.approx(record.duration_s, abs=1.0)


def test_bad_chat_options_are_refused_in_one_sentence(tmp_path: Path, monkeypatch, capsys) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HYPELINE_HOME", str(home))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    media = write_media(tmp_path / "vod.wav", np.zeros(SR, dtype=np.float32), SR)
    file = (str(media), "--realtime")
    no_channel = _refused(*file, "--chat", "twitch", home=home, capsys=capsys)
    assert "not a twitch.tv channel link" in no_channel and "--chat twitch:CHANNEL" in no_channel
    assert "Twitch only" in _refused(*file, "--chat", "youtube", home=home, capsys=capsys)
    assert "channel name" in _refused(*file, "--chat", "twitch:no spaces", home=home, capsys=capsys)
    assert "add --chat twitch" in _refused(
        *file, "--alert-needs-chat", "2", home=home, capsys=capsys
    )
    assert "usual rate" in _refused(
        *file, "--chat", "twitch:hype", "--alert-needs-chat", "-1", home=home, capsys=capsys
    )
    monkeypatch.setenv("HYPELINE_TWITCH_IRC", "nowhere")
    assert "not an IRC address" in _refused(
        *file, "--chat", "twitch:hype", home=home, capsys=capsys
    )


@pytest.mark.slow  # a 36 s file read in real time: chat answers on the wall clock
def test_alerts_carry_the_chat_answer_and_can_require_one(tmp_path: Path) -> None:
    # The siren (alert at ~12.5–15 s) gets ordinary chat, the whistle (~25 s) a burst
    # 3 s later: with --alert-needs-chat 2 only the whistle is alerted, with its answer.
    events = [("a siren", 16.0, 21.0), ("a whistle", 28.0, 33.0)]
    media = write_media(
        tmp_path / "vod.flac", make_vod(events, 36.0, SR, np.random.default_rng(3)), SR
    )
    home = tmp_path / "home"
    with IrcServer() as irc:
        done = threading.Event()
        chatting = threading.Thread(target=_chat_room, args=(irc, "hypechannel", done))
        chatting.start()
        run = _live(
            str(media),
            "--realtime",
            "--labels",
            LABELS,
            "--background",
            "silence",
            "--out",
            str(tmp_path / "out"),
            "--formats",
            "json",
            "--chat",
            "twitch:HypeChannel",
            "--chat-lag",
            "3",
            "--alert-needs-chat",
            "2",
            home=home,
            env={"HYPELINE_TWITCH_IRC": irc.address},
        )
        out, err = run.communicate(timeout=120)
        done.set()
        chatting.join(timeout=10)
    assert run.returncode == 0, err
    (conn,) = irc.connections  # read-only: logged in, joined, never said anything
    assert conn.lines[:2] == ["CAP REQ :twitch.tv/tags", "PASS SCHMOOPIIE"]
    assert conn.lines[3] == "JOIN #hypechannel" and not any("PRIVMSG" in x for x in conn.lines)
    (alert,) = [json.loads(line) for line in out.splitlines()]
    assert alert["label"] == "a whistle" and 22.5 <= alert["stream_time_s"] <= 27.5, alert
    chat = alert["chat"]
    # the burst (30) and the 3 s-apart ordinary chat of its 10 s (about 3 of 10 per 10 s)
    assert chat["channel"] == "hypechannel" and chat["lag_s"] == 3.0 and chat["complete"]
    assert 31 <= chat["messages"] <= 36 and chat["top"][:2] == ["KEKW", "Kappa"], chat
    assert 2.5 <= chat["baseline_per_10s"] <= 4.0, chat
    assert chat["rate_vs_baseline"] >= 6.0, chat
    (refused,) = [line for line in err.splitlines() if line.startswith("note: no alert for")]
    assert "a siren" in refused and "under the ×2 asked for" in refused
    assert "note: chat: reading #hypechannel" in err
    assert "1 alert(s)" in err and "chat message(s) from #hypechannel" in err


def _chat_room(irc: IrcServer, channel: str, done: threading.Event) -> None:
    """Ordinary chat from the JOIN on (a message every 3 s), a burst 32 s after it: in the
    whistle's span (from 25–27.5 + 3 s), past the siren's (to 25–28 s)."""
    irc.wait_for_join(channel, timeout_s=60)
    joined = time.monotonic()
    burst_at_s = 32.0
    sent_burst = False
    for i in itertools.count():
        at_s = i * 3.0
        if not sent_burst and at_s > burst_at_s:
            if done.wait(max(0.0, joined + burst_at_s - time.monotonic())):
                return
            for k in range(30):
                text, emotes = ("Kappa KEKW", "25:0-4") if k % 2 else ("KEKW KEKW 😂", "")
                irc.say(channel, text, author=f"fan{k}", emotes=emotes)
            sent_burst = True
        if done.wait(max(0.0, joined + at_s - time.monotonic())) or at_s > 60:
            return
        irc.say(channel, "gg 😀", author=f"regular{i % 4}")
