"""A chat replay beside the sound (emotion.chat.stored, emotion.chat.judge, through the
pipeline): each highlight's reaction, the lag, the rank, chat spikes, stored once."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import numpy as np
import pytest

from emotion import pipeline
from emotion.chat import stored
from emotion.chat.judge import CHAT_SPIKE
from emotion.library.store import Store
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.keywords import DEFAULT_KEYWORDS
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
    # Half of the KEKW burst also types catJAM (no default keyword, no platform emote: a
    # CSV has none), twice: it votes once per message.
    rows = [
        (t, a, f"{text} catJAM catJAM" if text == "KEKW KEKW" and int(a[3:]) % 2 else text)
        for t, a, text in rows
    ]
    rows += [(DECOY_S + i * 6 / 40, f"raider{i}", "OMEGALUL") for i in range(40)]
    lines = "".join(f"{t:.2f},{a},{text}\n" for t, a, text in sorted(rows))
    path.write_text("time_s,author,text\n" + lines, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def analysed(clap, tmp_path_factory) -> tuple[Store, int, Path]:
    folder = tmp_path_factory.mktemp("chat")
    vod = write_media(
        folder / "Chat Night.flac", make_vod(EVENTS, DURATION_S, SR, np.random.default_rng(5)), SR
    )
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
    kept = {
        rank: [
            (h.label, event_of(h.start_s))
            for h in rescore(clap, store, aid, top_k=1, rank=rank).highlights
        ]
        for rank in ("sound", "chat", "both")
    }
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
        code = cli(
            [
                "analyze",
                str(folder / "Chat Night.flac"),
                "--labels",
                "a whistle",
                "--chat",
                str(bad),
                "--out",
                str(tmp_path / "out"),
                "--model",
                str(TINY_CLAP),
                "--device",
                "cpu",
                "--precision",
                "fp32",
            ]
        )
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


CAT_JAM = 30  # messages of the KEKW burst (after the clicking at 60 s) that type catJAM


def test_other_chat_keywords_are_counted_from_the_stored_chat_without_the_file(
    clap, analysed, tmp_path: Path, monkeypatch, capsys
) -> None:
    store, aid, folder = analysed
    chat_file = folder / "chat.csv"
    text = chat_file.read_text()
    chat_file.unlink()  # the file is gone: only the library's stored form can answer
    try:
        plain = rescore(clap, store, aid)
        (clicking,) = [h for h in plain.highlights if event_of(h.start_s) == 60]
        assert clicking.chat is not None and clicking.chat.top == ("KEKW",)
        notes: list[str] = []
        settings = pipeline.Settings(PROMPTS, RULES, chat_keywords=("catJAM", "KEKW", "gg ez"))
        again = pipeline.moments(store.analysis(aid), store, clap, settings, on_note=notes.append)
        (clicking,) = [h for h in again.highlights if event_of(h.start_s) == 60]
        assert clicking.chat is not None and clicking.chat.top == ("KEKW", "catJAM")
        assert (
            again.chat is not None
            and sum(t.get("catJAM", 0) for t in again.chat.series.tokens) == CAT_JAM
        )
        assert notes == [
            "Chat did not use 'gg ez' in this analysis (by 2 or more messages "
            "within 10 s), so it counts as 0."
        ]
        # The CLI's --chat-keywords: the same VOD again, its stored chat judged by catJAM.
        monkeypatch.setenv("HYPELINE_HOME", str(store.home))
        code = cli(
            [
                "analyze",
                str(folder / "Chat Night.flac"),
                "--labels",
                "a whistle, clicking",
                "--background",
                "silence",
                "--smoothing",
                "10",
                "--chat-keywords",
                "catJAM",
                "--out",
                str(tmp_path / "out"),
                "--model",
                str(TINY_CLAP),
                "--device",
                "cpu",
                "--precision",
                "fp32",
            ]
        )
        assert code == 0, capsys.readouterr().err
        doc = json.loads((tmp_path / "out" / "highlights.json").read_text())
        (clicking_out,) = [h for h in doc["highlights"] if event_of(h["start_s"]) == 60]
        assert clicking_out["chat"]["top"] == ["catJAM"], clicking_out
        assert "catJAM" in clicking_out["why"]
    finally:
        chat_file.write_text(text)


@pytest.mark.parametrize(
    ("command", "keywords", "said"),
    [
        ("analyze", "KEKW, ,LUL", "remove the blank ones (--chat-keywords)."),
        ("analyze", ",".join(f"w{i}" for i in range(51)), "Give at most 50 chat keywords, not 51"),
        ("analyze", "KEKW,no way out", "'no way out' has 3 words"),
        ("batch", "KEKW,no way out", "'no way out' has 3 words"),
    ],
)
def test_bad_chat_keywords_exit_2_in_one_sentence(
    analysed, tmp_path: Path, monkeypatch, capsys, command: str, keywords: str, said: str
) -> None:
    _, _, folder = analysed
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    code = cli(
        [
            command,
            str(folder / "Chat Night.flac"),
            "--labels",
            "a whistle",
            "--chat-keywords",
            keywords,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and said in err and "Traceback" not in err, err
    assert err.rstrip().endswith("(--chat-keywords).")
    assert not (tmp_path / "out").exists() and not (tmp_path / "home").exists()


def _version_1(chat: stored.Chat) -> bytes:
    """The chat as the library stored it before keywords could change (ENCODING_VERSION 1)."""
    w, s = chat.reactions.windows, chat.reactions.series
    doc = {
        "version": 1,
        "n_messages": chat.n_messages,
        "beyond": chat.reactions.beyond,
        "windows": {
            "window_s": w.window_s,
            "hop_s": w.hop_s,
            "messages": w.messages.tolist(),
            "chatters": w.chatters.tolist(),
            "emotes": w.emotes.tolist(),
            "keywords": list(w.keywords),
            "keyword_counts": w.keyword_counts.tolist(),
            "top": [list(t) for t in w.top],
        },
        "series": {
            "bin_s": s.bin_s,
            "messages": s.messages.tolist(),
            "chatters": s.chatters.tolist(),
            "tokens": [dict(t) for t in s.tokens],
            "baseline": s.baseline,
        },
    }
    return zlib.compress(json.dumps(doc).encode(), 6)


def test_a_chat_stored_in_the_old_form_still_loads_with_the_default_keywords(
    clap, analysed
) -> None:
    store, aid, _ = analysed
    record = store.chat(aid)
    assert record is not None
    chat = stored.load(store, aid)
    assert chat is not None and chat.reactions.windows.keywords == DEFAULT_KEYWORDS
    store.set_chat(aid, record.format, record.n_messages, _version_1(chat))
    try:
        old = stored.load(store, aid)
        assert old is not None and old.reactions.tokens is None and old.notes == ()
        assert old.reactions.series.tokens == chat.reactions.series.tokens
        notes: list[str] = []
        settings = pipeline.Settings(PROMPTS, RULES, chat_keywords=("catJAM",))
        again = pipeline.moments(store.analysis(aid), store, clap, settings, on_note=notes.append)
        (clicking,) = [h for h in again.highlights if event_of(h.start_s) == 60]
        assert clicking.chat is not None and clicking.chat.top == ("KEKW",)  # the defaults'
        assert notes == [
            "This analysis's chat was stored before chat keywords could change, "
            "so it is counted with the default keywords; attach its chat file "
            "again to count yours."
        ]
    finally:
        store.set_chat(aid, record.format, record.n_messages, record.data)
