"""Chat replay speed and memory: a 1 M-message TwitchDownloader file → stored reactions.

Writes a TwitchDownloader JSON of N messages over an H-hour VOD (comments shaped as
TwitchDownloader writes them: ids, commenter, badges, fragments with emoticons, ~550
bytes each) in a temp folder, then parses it and builds the per-window reactions at the
default 10 s window / 5 s hop with the token counts any keyword list is counted from,
encodes them as the library stores them (``stored.encode``) and counts another keyword list
from the decoded form, and prints seconds, messages/s, the stored size and peak RSS. Peak
RSS is the process's, so it includes Python, numpy and msgspec; it stays flat in the file's
size. ``--varied`` gives every message its own sentence of words drawn from a 20,000-word
Zipf vocabulary (real chat's long tail of words and word pairs), the hard case for the
token counts; without it chat repeats a dozen bodies, as emote spam does. Messages are in
random order (the worst case: every one is late, LATE_S); ``--in-order`` sorts them by
time, as TwitchDownloader writes them.

    python bench/bench_chat.py                      # 1 M messages, 4 h
    python bench/bench_chat.py --varied
    python bench/bench_chat.py --messages 2000000 --hours 8
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion.chat.formats import detect_format, read_chat  # noqa: E402
from emotion.chat.reactions import chat_reactions, count_keywords  # noqa: E402
from emotion.chat.series import chat_spikes  # noqa: E402
from emotion.chat.stored import decode, encode  # noqa: E402

BODIES = [
    ("KEKW", True),
    ("LUL that was insane", True),
    ("lol", False),
    ("Pog", False),
    ("hello chat", False),
    ("W", False),
    ("clip it", False),
    ("monkaS 😂", False),
    ("what is he doing", False),
    ("OMEGALUL OMEGALUL", False),
    ("gg", False),
]


def make_chat(
    path: Path,
    n_messages: int,
    hours: float,
    seed: int = 0,
    varied: bool = False,
    in_order: bool = False,
) -> Path:
    """A TwitchDownloader JSON: n_messages spread over the VOD, with a burst every 10 min."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(20_000)]
    cum_weights = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))  # Zipf
    duration_s = hours * 3600
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '{"FileInfo":{"Version":{"Major":1,"Minor":4,"Patch":2},"CreatedAt":'
            '"2024-05-01T22:00:00Z"},"streamer":{"name":"Streamer","id":12345678},"video":'
            f'{{"title":"Bench VOD","id":"2100000000","start":0,"end":{duration_s:.0f},'
            f'"length":{duration_s:.0f}}},"comments":['
        )
        times = []
        for i in range(n_messages):
            time_s = rng.random() * duration_s
            if i % 4 == 0:  # a quarter of chat answers a moment every 10 minutes
                time_s = (time_s // 600) * 600 + 8 + rng.random() * 10
            times.append(min(time_s, duration_s - 0.001))
        if in_order:
            times.sort()
        for i, time_s in enumerate(times):
            body, emote = BODIES[rng.randrange(len(BODIES))]
            if varied and not emote:
                body = " ".join(rng.choices(words, cum_weights=cum_weights, k=rng.randint(1, 8)))
            user = rng.randrange(60_000)
            fragments = (
                f'[{{"text":"{body.split()[0]}","emoticon":{{"emoticon_id":"305954156"}}}}'
                + (
                    f',{{"text":{json.dumps(body[body.index(" ") :])},"emoticon":null}}]'
                    if " " in body
                    else "]"
                )
                if emote
                else f'[{{"text":{json.dumps(body, ensure_ascii=False)},"emoticon":null}}]'
            )
            out.write(
                ("," if i else "") + f'{{"_id":"{i:08x}-1111-4222-8333-444455556666","created_at":'
                '"2024-05-01T18:00:12.345Z","channel_id":"12345678","content_type":"video",'
                f'"content_id":"2100000000","content_offset_seconds":{time_s:.3f},'
                f'"commenter":{{"display_name":"Viewer{user}","_id":"{80_000_000 + user}",'
                f'"name":"viewer{user}","logo":"https://static-cdn.jtvnw.net/jtv_user_'
                'pictures/abcdef-profile_image-300x300.png"},"message":{"body":'
                f'{json.dumps(body, ensure_ascii=False)},"bits_spent":0,"fragments":'
                f'{fragments},"user_badges":[{{"_id":"subscriber","version":"12"}},'
                '{"_id":"premium","version":"1"}],"user_color":"#FF4500","emoticons":[]}}'
            )
        out.write('],"embeddedData":null}')
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--hop", type=float, default=5.0)
    parser.add_argument("--varied", action="store_true", help="a sentence of its own each")
    parser.add_argument("--in-order", action="store_true", help="messages in time order")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chat.json"
        t0 = time.perf_counter()
        make_chat(path, args.messages, args.hours, varied=args.varied, in_order=args.in_order)
        size_mb = path.stat().st_size / 1e6
        print(
            f"{path.name}: {args.messages:,} messages, {size_mb:.0f} MB, {args.hours:g} h, "
            f"written in {time.perf_counter() - t0:.1f} s; RSS before {peak_rss_mb():.0f} MB"
        )

        t0 = time.perf_counter()
        fmt = detect_format(path)
        n = sum(1 for _ in read_chat(path, fmt))
        parse_s = time.perf_counter() - t0
        print(
            f"parse only ({fmt}): {n:,} messages in {parse_s:.1f} s = "
            f"{n / parse_s / 1e3:.0f} k messages/s, {size_mb / parse_s:.0f} MB/s, "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )

        t0 = time.perf_counter()
        result = chat_reactions(read_chat(path, fmt), args.window, args.hop, args.hours * 3600)
        spikes = chat_spikes(result.series)
        reactions_s = time.perf_counter() - t0
        data = encode(result)
        total_s = time.perf_counter() - t0
        assert result.tokens is not None
        print(
            f"parse + reactions: {len(result.windows.messages):,} windows "
            f"({args.window:g} s / {args.hop:g} s), {len(result.series.messages):,} bins, "
            f"{len(spikes)} spikes, in {reactions_s:.1f} s; + encode: {total_s:.1f} s = "
            f"{result.n_messages / total_s / 1e3:.0f} k messages/s, "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
        print(
            f"stored: {len(data) / 1e3:,.0f} KB, {len(result.tokens.vocabulary):,} tokens, "
            f"{len(result.tokens.windows.cells) + len(result.tokens.bins.cells):,} counts"
        )

        t0 = time.perf_counter()
        _, notes = count_keywords(decode(data), ["catJAM", "KEKW", "clip it", "w1", "w2 w3"])
        print(
            f"decode + count 5 other keywords: {(time.perf_counter() - t0) * 1e3:.0f} ms "
            f"({'; '.join(notes) or 'all found'}); peak RSS {peak_rss_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
