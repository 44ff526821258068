"""A chat replay beside the sound (emotion.chat.stored, emotion.chat.judge, through the
pipeline): each highlight's reaction, the lag, the rank, chat spikes, stored once."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from emotion import pipeline
from emotion.chat.judge import CHAT_SPIKE
from emotion.library.store import Store
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import Prompts
from hypeline_cli.main import main as cli
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
DURATION_S = 210.0
EVENTS = [
    ("a whistle", 20, 30),
    ("clicking", 60, 70),
    ("a whistle", 110, 120),
    ("clicking", 150, 160),
]
LAG_S = 12.0  # chat answers each event this long after it starts
BURSTS = {20: (2, "W"), 60: (60, "KEKW"), 110: (2, "Pog"), 150: (2, "LUL")}  # start: n, word
DECOY_S = 192.0  # 40 messages with no sound behind them
PROMPTS = Prompts.parse(["a whistle", "clicking"], ["silence"])
RULES = HighlightSettings(smoothing_s=10.0)


def write_chat(path: Path) -> Path:
    rng = random.Random(2)
    rows = [(t + 0.5, f"viewer{rng.randrange(30)}", "hi") for t in range(0, 208, 4)]
    for start, (n, word) in BURSTS.items():
        rows += [(start + LAG_S + i * 8 / n, f"fan{i}", f"{word} {word}") for i in range(n)]
    rows += [(DECOY_S + i * 6 / 40, f"raider{i}", "OMEGALUL") for i in range(40)]
    lines = "".join(f"{t:.2f},{a},{text}\n" for t, a, text in sorted(rows))
    path.write_text("time_s,author,text\n" + lines, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def analysed(clap, tmp_path_factory) -> tuple[Store, int, Path]:
    folder = tmp_path_factory.mktemp("chat")
    vod = write_media(folder / "Chat Night.flac", make_vod(EVENTS, DURATION_S, SR,
                      np.random.default_rng(5)), SR)  # fmt: skip
    chat = write_chat(folder / "chat.csv")
    store = Store(folder / "home")
    settings = pipeline.Settings(PROMPTS, RULES, chat=chat)
    result = pipeline.run(str(vod), clap, store, settings, folder / "out")
    assert result.analysis.analysis_id is not None
    return store, result.analysis.analysis_id, folder


def event_of(start_s: float) -> int:
    """The event a highlight found (its start within 5 s of the event's)."""
    (start,) = [start for _, start, _ in EVENTS if abs(start - start_s) <= 5]
    return start


def rescore(clap, store: Store, aid: int, **kw) -> pipeline.Analysis:  # type: ignore[name-defined]
    top_k = kw.pop("top_k", None)
    rules = HighlightSettings(smoothing_s=10.0, top_k=top_k)
    return pipeline.moments(
        store.analysis(aid), store, clap, pipeline.Settings(PROMPTS, rules, **kw)
    )


def test_each_highlight_gets_chat_reaction_and_the_lag_is_estimated(analysed) -> None:
    _, _, folder = analysed
    doc = json.loads((folder / "out" / "highlights.json").read_text())
    assert doc["chat"]["format"] == "csv" and doc["chat"]["rank"] == "both"
    assert doc["chat"]["messages"] == 52 + sum(n for n, _ in BURSTS.values()) + 40
    assert abs(doc["chat"]["lag_s"] - LAG_S) <= 2.0
    by_start = {event_of(h["start_s"]): h for h in doc["highlights"]}
    assert sorted(by_start) == [20, 60, 110, 150]
    clicking = by_start[60]["chat"]
    assert clicking["top"] == ["KEKW"] and clicking["messages"] >= 25
    assert clicking["rate_vs_baseline"] > 5
    assert by_start[110]["chat"]["top"] == ["Pog"] and by_start[110]["chat"]["rate_vs_baseline"] < 2
    assert "· chat ×" in by_start[60]["why"]
    rows = (folder / "out" / "highlights.csv").read_text().splitlines()
    assert rows[0].endswith(",chat_messages,chat_rate_vs_baseline,chat_top")
    assert rows[2].endswith(f",{clicking['messages']},{clicking['rate_vs_baseline']:.2f},KEKW")


def test_rank_chat_keeps_what_chat_reacted_to(clap, analysed) -> None:
    store, aid, _ = analysed
    kept = {rank: [(h.label, event_of(h.start_s)) for h in rescore(clap, store, aid, top_k=1,
                                                                  rank=rank).highlights]
            for rank in ("sound", "chat", "both")}  # fmt: skip
    assert kept["sound"] == [("a whistle", 110)]  # the loudest
    assert kept["chat"] == [("clicking", 60)] == kept["both"]  # chat ×10 outweighs its lower score


def test_chat_moments_add_the_spike_without_sound(clap, analysed) -> None:
    store, aid, _ = analysed
    plain = rescore(clap, store, aid)
    assert CHAT_SPIKE not in [h.label for h in plain.highlights]
    spiked = rescore(clap, store, aid, chat_moments=True)
    (spike,) = [h for h in spiked.highlights if h.label == CHAT_SPIKE]
    assert spike.chat is not None and spike.chat.top == ("OMEGALUL",) and spike.score == 0.0
    assert spike.start_s < DECOY_S < spike.start_s + 20


def test_rescoring_reads_the_stored_chat_not_the_file(clap, analysed) -> None:
    store, aid, folder = analysed
    chat_file = folder / "chat.csv"
    text = chat_file.read_text()
    chat_file.unlink()
    try:
        again = rescore(clap, store, aid)
        assert again.chat is not None and all(h.chat is not None for h in again.highlights)
    finally:
        chat_file.write_text(text)


def test_a_bad_chat_file_exits_2_with_nothing_written(
    analysed, tmp_path: Path, monkeypatch, capsys
) -> None:
    _, _, folder = analysed
    home = tmp_path / "home"
    monkeypatch.setenv("HYPELINE_HOME", str(home))
    bad = tmp_path / "chat.json"
    for content in ('{"nothing": "here"}', ""):
        bad.write_text(content)
        code = cli(["analyze", str(folder / "Chat Night.flac"), "--labels", "a whistle",
                    "--chat", str(bad), "--out", str(tmp_path / "out"), "--model",
                    str(TINY_CLAP), "--device", "cpu", "--precision", "fp32"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert "(--chat FILE)" in err
    assert not (tmp_path / "out").exists()
    assert not home.exists() or Store(home).analyses() == []


def test_another_vods_chat_is_refused_before_embedding(clap, analysed, tmp_path: Path) -> None:
    _, _, folder = analysed
    late = tmp_path / "late.csv"
    late.write_text("time_s,author,text\n500,a,hi\n501,b,KEKW\n")
    store = Store(tmp_path / "home")
    settings = pipeline.Settings(PROMPTS, RULES, chat=late)
    with pytest.raises(Exception, match="another VOD's chat"):
        pipeline.run(str(folder / "Chat Night.flac"), clap, store, settings, tmp_path / "out")
    assert store.analyses() == [] and not (tmp_path / "out").exists()
