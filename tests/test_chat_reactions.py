"""emotion/chat/reactions.py: windows, series, baseline, reactions, spikes and the lag."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from emotion.chat import stored
from emotion.chat.cells import MAX_CELL_TOKENS
from emotion.chat.lag import LAG_DEFAULT_S, estimate_lag_s
from emotion.chat.reactions import chat_reactions, count_keywords, read_reactions
from emotion.chat.series import chat_spikes, rate_vs_baseline, reaction, spikes_without_sound
from emotion.chat.stream import Message
from emotion.errors import HypelineError
from emotion.scoring.keywords import DEFAULT_KEYWORDS, KeywordMatcher, check_keywords

MOMENTS_S = [601.0, 1501.0, 2401.0]  # when something happens; chat answers on a bin
DECOY_S = 1900.0  # a chat burst with no sound behind it (a raid, a poll)
LAG_S = 9.0
DURATION_S = 3000.0


def synthetic_chat(seed: int = 1) -> list[Message]:
    """One message per second of ordinary chat, a burst LAG_S after each moment, a decoy."""
    rng = random.Random(seed)
    messages = [
        Message(float(t) + 0.5, f"viewer{rng.randrange(40)}", rng.choice(["hi", "ok", "gg"]))
        for t in range(int(DURATION_S))
    ]
    for moment in MOMENTS_S:
        for i in range(60):  # 60 messages in the 10 s after moment + lag
            time_s = moment + LAG_S + i / 6
            messages.append(Message(time_s, f"fan{i % 30}", "KEKW KEKW clip it", ("KEKW",)))
    for i in range(50):
        messages.append(Message(DECOY_S + i / 5, f"raider{i}", "Pog raid", ()))
    return sorted(messages, key=lambda m: m.time_s)


def test_keywords_match_emote_names_exactly_and_phrases_as_words() -> None:
    find = KeywordMatcher().find
    assert find("KEKW KEKW that was Pog") == {"KEKW", "Pog"}
    assert find("kekw pog") == set()  # emote names are case-sensitive
    assert find("PogChamp") == {"PogChamp"}  # not Pog
    assert find("W") == {"W"} and find("w") == set() and find("Wow") == set()
    assert find("LOL, clip   It!") == {"lol", "clip it"}  # phrases: any case, any spacing
    assert find("Clip it") == {"Clip", "clip it"}  # each keyword on its own
    assert find("clip, it") == set()  # a comma parts a phrase
    assert KeywordMatcher(["don", "let's go"]).find("don't, let's   GO") == {"let's go"}
    assert find("lollipop eclipse it") == set()  # whole words only
    assert find("KEKW😂") == {"KEKW"}
    assert KeywordMatcher(["gg", "EZ"]).find("GG EZ ez") == {"gg", "EZ"}


def test_per_window_figures_on_the_analysis_grid() -> None:
    messages = [
        Message(0.5, "a", "KEKW", ("KEKW",)),
        Message(4.0, "b", "lol KEKW", ("KEKW",)),
        Message(6.0, "a", "W W W"),
        Message(9.9, "c", "hi"),
        Message(10.0, "c", "LUL", ("LUL",)),
        Message(31.0, "d", "late"),  # past duration_s
    ]
    result = chat_reactions(messages, window_s=10.0, hop_s=5.0, duration_s=20.0)
    windows = result.windows
    # Windows [0,10) [5,15) [10,20), as emotion/scoring/windows.py makes for 20 s.
    assert windows.messages.tolist() == [4, 3, 1]
    assert windows.chatters.tolist() == [3, 2, 1]
    assert windows.emotes.tolist() == [2, 1, 1]
    assert windows.keyword("KEKW").tolist() == [2, 0, 0]
    assert windows.keyword("W").tolist() == [1, 1, 0]  # one vote per message
    assert windows.keyword("lol").tolist() == [1, 0, 0]
    assert windows.keyword("LUL").tolist() == [0, 1, 1]
    assert windows.top[0] == ("KEKW", "W", "lol")
    assert result.n_messages == 6 and result.beyond == 1
    assert result.series.messages.tolist() == [4, 1]  # 10 s bins
    assert result.series.top(0) == ("KEKW", "W", "lol")


def test_series_baseline_rate_reaction_and_spikes() -> None:
    result = chat_reactions(synthetic_chat(), 10.0, 5.0, DURATION_S)
    series = result.series
    assert series.bin_s == 10.0 and len(series.messages) == 300
    assert series.baseline == 10.0  # one message a second: the median bin, bursts aside
    assert rate_vs_baseline(series, 0.0, 100.0) == pytest.approx(1.0)
    # The burst answers the moment at 600 s 9 s later: measured with the lag, it shows.
    answer = reaction(series, 601.0, 611.0, lag_s=LAG_S)
    assert answer.messages == 70  # 60 in the burst + 10 ordinary
    assert answer.rate_vs_baseline == pytest.approx(7.0)
    assert answer.top == ("KEKW", "clip it")
    ordinary = reaction(series, 301.0, 311.0, lag_s=LAG_S)
    assert ordinary.messages == 10 and ordinary.rate_vs_baseline == pytest.approx(1.0)
    assert ordinary.top == ()
    # A span across bins is weighted by overlap: half of bin 610 s and half of bin 620 s.
    assert reaction(series, 606.0, 616.0, lag_s=LAG_S).messages == (70 + 10) // 2

    spikes = chat_spikes(series)
    starts = [spike.start_s for spike in spikes]
    assert starts == [610.0, 1510.0, 1900.0, 2410.0]
    first = spikes[0]
    assert (first.end_s, first.top) == (620.0, ("KEKW", "clip it"))
    assert first.messages == 70 and first.rate_vs_baseline == pytest.approx(7.0)
    assert spikes[2].messages == 60 and spikes[2].top == ("Pog",)
    # Only the decoy has no moment behind it.
    moments = [(m, m + 10.0) for m in MOMENTS_S]
    assert [s.start_s for s in spikes_without_sound(spikes, moments, lag_s=LAG_S)] == [1900.0]
    assert chat_spikes(series, factor=10.0) == []


def test_windows_count_distinct_chatters_and_the_bursts() -> None:
    result = chat_reactions(synthetic_chat(), 10.0, 5.0, DURATION_S)
    windows = result.windows
    assert len(windows.messages) == 599  # (3000 − 10) / 5 + 1
    burst = int((601 + LAG_S) // 5)  # the window [610 s, 620 s) holds the whole burst
    inside = [m for m in synthetic_chat() if 610.0 <= m.time_s < 620.0]
    assert windows.messages[burst] == len(inside) == 70
    assert windows.chatters[burst] == len({m.author for m in inside}) > 30
    assert windows.keyword("KEKW")[burst] == windows.keyword("clip it")[burst] == 60
    assert windows.emotes[burst] == 60 and windows.top[burst] == ("KEKW", "clip it")
    before = burst - 2  # [600 s, 610 s): ordinary chat only
    assert (windows.messages[before], windows.keyword("KEKW")[before]) == (10, 0)


def test_read_reactions_streams_a_file(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    lines = ["time_s,author,text"] + [f"{m.time_s},{m.author},{m.text}" for m in synthetic_chat()]
    path.write_text("\n".join(lines) + "\n")
    reports = []
    result = read_reactions(path, 10.0, 5.0, DURATION_S, progress=reports.append)
    assert result.n_messages == 3000 + 180 + 50
    assert [s.start_s for s in chat_spikes(result.series)] == [610.0, 1510.0, 1900.0, 2410.0]
    assert reports and reports[-1].fraction == pytest.approx(1.0)


def _sound_and_chat(lag_s: float, hop_s: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A sound score with 30 moments in 2 h and a chat that answers each lag_s later."""
    rng = np.random.default_rng(seed)
    duration_s = 7200.0
    moments = np.sort(rng.uniform(60, duration_s - 120, 30))
    n = int((duration_s - 10) // hop_s) + 1
    starts = np.arange(n) * hop_s
    sound = 0.1 + 0.05 * rng.random(n)
    for moment in moments:
        sound[(starts <= moment) & (starts + 10 > moment)] += 0.8  # a short burst of sound
    messages = [
        Message(float(t), f"v{int(t) % 50}", "hi") for t in rng.uniform(0, duration_s, 7200)
    ]
    for moment in moments:
        for t in moment + lag_s + rng.normal(0, 2.0, 40):
            messages.append(Message(float(max(t, 0)), "fan", "KEKW"))
    messages.sort(key=lambda m: m.time_s)
    chat = chat_reactions(messages, 10.0, hop_s, duration_s).windows.messages
    return sound, chat.astype(float)


@pytest.mark.parametrize("hop_s", [5.0, 2.0, 1.0])
def test_lag_estimate_finds_a_known_9_s_lag(hop_s: float) -> None:
    sound, chat = _sound_and_chat(LAG_S, hop_s)
    assert len(sound) == len(chat)
    assert estimate_lag_s(sound, chat, hop_s) == pytest.approx(LAG_S, abs=2.0)


def test_lag_estimate_clamps_and_falls_back() -> None:
    sound, chat = _sound_and_chat(0.0, 5.0)
    assert estimate_lag_s(sound, chat, 5.0) == 3.0  # never faster than viewers can type
    sound, chat = _sound_and_chat(28.0, 5.0)
    assert estimate_lag_s(sound, chat, 5.0) == 20.0
    assert estimate_lag_s(sound[:10], chat[:10], 5.0) == LAG_DEFAULT_S  # too short
    assert estimate_lag_s(sound, np.zeros_like(chat), 5.0) == LAG_DEFAULT_S  # silent chat
    rng = np.random.default_rng(0)
    unrelated = rng.poisson(10, size=len(sound)).astype(float)
    assert estimate_lag_s(sound, unrelated, 5.0) == LAG_DEFAULT_S


def _with_cat_jam() -> list[Message]:
    """The synthetic chat, with a burst of catJAM (not a default keyword, typed, not a
    platform emote) 9 s after a moment at 1201 s: 40 messages, each using it twice."""
    messages = synthetic_chat()
    messages += [Message(1210.0 + i / 5, f"cat{i}", "catJAM catJAM vibe") for i in range(40)]
    return sorted(messages, key=lambda m: m.time_s)


def test_other_keywords_are_counted_from_the_stored_token_counts() -> None:
    # Parsed once with the defaults, stored, read back: catJAM is answered by lookup.
    data = stored.encode(chat_reactions(_with_cat_jam(), 10.0, 5.0, DURATION_S))
    assert data[:2] == b"PK"  # version 2: the token counts beside the figures
    back = stored.decode(data)
    default, notes = count_keywords(back)
    assert notes == [] and default.windows.keywords == DEFAULT_KEYWORDS
    assert "catJAM" not in reaction(default.series, 1201.0, 1211.0, LAG_S).top

    counted, notes = count_keywords(back, ["catJAM", "KEKW", "vibe check"])
    assert notes == [
        "Chat did not use 'vibe check' in this analysis (by 2 or more messages "
        "within 10 s), so it counts as 0."
    ]
    windows = counted.windows
    burst = 1210 // 5  # [1210 s, 1220 s) holds the burst: once per message
    assert windows.keyword("catJAM")[burst] == 40 and windows.keyword("catJAM").sum() == 40 * 2
    assert windows.keyword("vibe check").sum() == 0
    assert windows.top[burst] == ("catJAM",)
    answer = reaction(counted.series, 1201.0, 1211.0, lag_s=LAG_S)
    assert answer.top == ("catJAM",) and answer.messages == 40 + 10
    assert counted.series.tokens[121] == {"catJAM": 40}  # the bin [1210 s, 1220 s)
    # The KEKW bursts (also platform emotes) as before; the figures do not depend on the list.
    assert windows.keyword("KEKW")[int((601 + LAG_S) // 5)] == 60
    assert (counted.windows.messages == default.windows.messages).all()
    # The same list as the pass's gives the pass's own counts.
    direct = chat_reactions(_with_cat_jam(), 10.0, 5.0, DURATION_S, ["catJAM", "KEKW"])
    again, _ = count_keywords(back, ["catJAM", "KEKW"])
    assert (direct.windows.keyword_counts == again.windows.keyword_counts).all()
    assert direct.series.tokens == again.series.tokens


def test_a_token_one_message_used_alone_is_not_kept_unless_asked_for() -> None:
    messages = [
        Message(1.0, "a", "gg"),
        Message(2.0, "b", "gg hype"),
        Message(3.0, "c", "KEKW"),
        Message(14.0, "d", "hype"),
        Message(25.0, "e", "lol"),
    ]
    result = chat_reactions(messages, 10.0, 5.0, 30.0, keywords=["hype"])
    vocabulary = set(result.tokens.vocabulary)  # type: ignore[union-attr]
    assert {"gg", "hype", "KEKW", "lol"} <= vocabulary  # 2 in a bin; asked for; defaults
    assert "gg hype" not in vocabulary  # one message alone in its bin
    counted, _ = count_keywords(result, ["gg", "hype"])
    assert counted.series.tokens[:3] == ({"gg": 2, "hype": 1}, {"hype": 1}, {})
    # However varied chat is, a bin keeps its MAX_CELL_TOKENS most used (ties by name).
    varied = [Message(1.0 + i / 1000, f"v{i}", f"z{i // 2:03d}") for i in range(2 * 250)]
    varied += [Message(2.0 + i / 10, f"c{i}", "z249") for i in range(3)]  # z249: 5 messages
    kept = chat_reactions(varied, 10.0, 5.0, 10.0, keywords=["z248"]).tokens
    assert kept is not None and len(kept.vocabulary) == MAX_CELL_TOKENS + 1
    assert kept.vocabulary[:2] == ("z249", "z000") and kept.vocabulary[-2:] == ("z198", "z248")


def test_keyword_lists_are_checked_in_one_sentence() -> None:
    assert check_keywords([" KEKW ", "clip   it", "Clip It", "LUL"]) == ("KEKW", "clip it", "LUL")
    for bad, said in [
        ([], "remove the blank ones"),
        (["KEKW", "  "], "remove the blank ones"),
        ([f"w{i}" for i in range(51)], "Give at most 50 chat keywords, not 51"),
        (["no way out"], "'no way out' has 3 words"),
        (["<3"], "'<3' holds more than words"),
    ]:
        with pytest.raises(HypelineError, match=said) as e:
            check_keywords(bad)
        assert str(e.value).count(".") == 1 or "(an emote" in str(e.value)
