"""emotion/chat/formats.py: every format written here as its tool writes it, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotion.chat import stream
from emotion.chat.formats import detect_format, read_chat
from emotion.chat.stream import Message
from emotion.errors import ChatError, HypelineError
from emotion.progress import Progress

# (time_s, author, text, emotes): a burst after 100 s, a decoy burst at 300 s, chatter.
CHAT = [
    (1.5, "alice", "hello chat", ()),
    (12.25, "bob", "café time 😂", ()),
    (105.0, "carol", "KEKW KEKW", ("KEKW",)),
    (106.5, "dave", "LUL no way", ("LUL",)),
    (107.0, "alice", "clip it", ()),
    (300.0, "erin", "first", ()),
    (300.5, "frank", "🎉🎉", ()),
    (3725.75, "gina", "gg", ()),
]


def _twitch_comment(time_s: float, author: str, text: str, emotes: tuple[str, ...]) -> dict:
    fragments = [
        {"text": word, "emoticon": {"emoticon_id": "25"} if word in emotes else None}
        for word in text.split(" ")
    ]
    return {
        "_id": f"id-{time_s}",
        "created_at": "2024-05-01T18:00:12.345Z",
        "channel_id": "1234",
        "content_type": "video",
        "content_id": "2100000000",
        "content_offset_seconds": time_s,
        "commenter": {"display_name": author.title(), "_id": "99", "name": author},
        "message": {
            "body": text,
            "bits_spent": 0,
            "fragments": fragments,
            "user_badges": [{"_id": "subscriber", "version": "12"}, {"_id": "vip", "version": "1"}],
            "user_color": "#FF4500",
            "emoticons": [{"_id": "25", "begin": 0, "end": 3}] if emotes else [],
        },
    }


def write_twitchdownloader(path: Path, chat=CHAT, indent: int | None = None) -> Path:
    document = {
        "FileInfo": {"Version": {"Major": 1, "Minor": 4, "Patch": 2}},
        "streamer": {"name": "Streamer ✨", "id": 1234},
        "video": {"title": "Big day 🎉", "id": "2100000000", "start": 0, "end": 3800},
        "comments": [_twitch_comment(*m) for m in chat],
        "embeddedData": {"thirdParty": [{"id": "x", "name": "KEKW", "data": "AAAA"}]},
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=indent), encoding="utf-8")
    return path


def write_rechat(path: Path, chat=CHAT) -> Path:
    document = {"comments": [_twitch_comment(*m) for m in chat], "_next": "cursor=="}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def write_youtube(path: Path, chat=CHAT) -> Path:
    lines = []
    for time_s, author, text, emotes in chat:
        runs: list[dict] = []
        for word in text.split(" "):
            if word in emotes:
                emoji = {
                    "emojiId": f"UC/{word}",
                    "shortcuts": [f":_{word}:"],
                    "isCustomEmoji": True,
                }
                runs.append({"emoji": emoji})
            elif word == "😂":
                runs.append({"emoji": {"emojiId": "😂", "shortcuts": [":face_with_tears_of_joy:"]}})
            else:
                runs.append({"text": word})
            runs.append({"text": " "})
        renderer = {
            "message": {"runs": runs[:-1]},
            "authorName": {"simpleText": author},
            "id": "x",
            "timestampUsec": "1600000000000000",
        }
        action = {"addChatItemAction": {"item": {"liveChatTextMessageRenderer": renderer}}}
        lines.append(
            {
                "clickTrackingParams": "CAE=",
                "replayChatItemAction": {
                    "actions": [action],
                    "videoOffsetTimeMsec": str(round(time_s * 1000)),
                },
            }
        )
    # A viewer-engagement banner and a membership item: not chat messages.
    banner = {"addChatItemAction": {"item": {"liveChatViewerEngagementMessageRenderer": {}}}}
    lines.insert(1, {"replayChatItemAction": {"actions": [banner], "videoOffsetTimeMsec": "0"}})
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_chat_downloader(path: Path, chat=CHAT) -> Path:
    items = [
        {
            "action_type": "add_chat_item",
            "author": {"name": author, "id": "UC1", "images": [{"url": "x", "width": 32}]},
            "message": text,
            "message_id": f"m{i}",
            "message_type": "text_message",
            "time_in_seconds": time_s,
            "time_text": "0:01",
            "timestamp": 1600000000000000,
            "emotes": [{"id": e, "name": e, "images": [], "is_custom_emoji": True} for e in emotes],
        }
        for i, (time_s, author, text, emotes) in enumerate(chat)
    ]
    items.insert(2, {"action_type": "add_chat_item", "message_type": "membership_item"})
    path.write_text(json.dumps(items, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


def write_csv(path: Path, chat=CHAT, clock: bool = False) -> Path:
    lines = ["time_s,author,text"] if not clock else ["time,author,text"]
    for time_s, author, text, _ in chat:
        when = f"{time_s:g}"
        if clock:
            h, rest = divmod(time_s, 3600)
            m, s = divmod(rest, 60)
            when = f"{int(h)}:{int(m):02d}:{s:05.2f}" if h else f"{int(m)}:{s:05.2f}"
        lines.append(f'{when},{author},"{text}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


WRITERS = {
    "twitchdownloader": write_twitchdownloader,
    "rechat": write_rechat,
    "youtube": write_youtube,
    "chat-downloader": write_chat_downloader,
    "csv": write_csv,
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_is_detected_from_its_content_and_read_in_order(
    tmp_path: Path, fmt: str
) -> None:
    path = WRITERS[fmt](tmp_path / "chat.txt")  # the name says nothing
    assert detect_format(path) == fmt
    messages = list(read_chat(path))
    assert [m.time_s for m in messages] == [m[0] for m in CHAT]
    assert messages[1].text == "café time 😂"  # UTF-8 and emoji survive every format
    assert [m.text for m in messages][-3:] == ["first", "🎉🎉", "gg"]
    authors = [m.author for m in messages]
    if fmt in ("twitchdownloader", "rechat"):
        assert authors[:3] == ["Alice", "Bob", "Carol"]  # the display name
    else:
        assert authors[:3] == ["alice", "bob", "carol"]
    emotes = [m.emotes for m in messages]
    if fmt == "youtube":
        assert emotes[2] == (":_KEKW:", ":_KEKW:") and emotes[3] == (":_LUL:",)
        assert emotes[1] == ("😂",)  # a standard emoji counts as one, written as itself
        assert messages[2].text == ":_KEKW: :_KEKW:"
    elif fmt == "csv":
        assert emotes == [()] * len(CHAT)
    elif fmt == "chat-downloader":
        assert emotes[2] == ("KEKW",) and emotes[3] == ("LUL",) and emotes[0] == ()
    else:
        assert emotes[2] == ("KEKW", "KEKW") and emotes[3] == ("LUL",) and emotes[4] == ()


def test_indented_json_and_h_mm_ss_csv(tmp_path: Path) -> None:
    pretty = write_twitchdownloader(tmp_path / "pretty.json", indent=2)
    assert [m.time_s for m in read_chat(pretty)] == [m[0] for m in CHAT]
    clock = write_csv(tmp_path / "clock.csv", clock=True)
    assert [m.time_s for m in read_chat(clock)] == pytest.approx([m[0] for m in CHAT])
    assert detect_format(clock) == "csv"


def test_a_big_file_is_read_in_many_batches_with_flat_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks make a 2,000-comment file span ~100 batches, boundaries included.
    monkeypatch.setattr(stream, "CHUNK_BYTES", 8 * 1024)
    chat = [(i * 0.5, f"user{i % 37}", f"msg {i} KEKW", ("KEKW",)) for i in range(2000)]
    path = write_twitchdownloader(tmp_path / "big.json", chat=chat)
    reports: list[Progress] = []
    messages = list(read_chat(path, progress=reports.append))
    assert len(messages) == 2000
    assert messages[1234] == Message(617.0, "User13", "msg 1234 KEKW", ("KEKW",))
    assert len(reports) > 50 and reports[-1].fraction == pytest.approx(1.0, abs=0.01)
    assert all(r.stage == "chat" for r in reports)
    fractions = [r.fraction or 0.0 for r in reports]
    assert fractions == sorted(fractions)


def test_bom_and_stray_latin1_bytes_are_tolerated(tmp_path: Path) -> None:
    path = write_twitchdownloader(tmp_path / "chat.json")
    raw = path.read_bytes().replace("café".encode(), b"caf\xe9")  # one Latin-1 byte
    path.write_bytes(b"\xef\xbb\xbf" + raw)
    assert detect_format(path) == "twitchdownloader"
    messages = list(read_chat(path))
    assert messages[1].text == "caf\ufffd time 😂"  # replaced; the emoji beside it survives
    csv_path = write_csv(tmp_path / "chat.csv")
    csv_path.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes().replace(b"alice", b"al\xefce"))
    assert next(m.author for m in read_chat(csv_path)) == "al\ufffdce"


def test_leading_pre_stream_chat_is_skipped_on_youtube(tmp_path: Path) -> None:
    chat = [(-30.0, "early", "waiting", ()), *CHAT]
    assert [m.author for m in read_chat(write_chat_downloader(tmp_path / "a.json", chat))][:1] == [
        "alice"
    ]


def _one_sentence(error: pytest.ExceptionInfo[ChatError]) -> str:
    message = str(error.value)
    assert isinstance(error.value, HypelineError)
    assert "\n" not in message and message.endswith(".") and message.count("; ") >= 1
    return message


def test_refusals_are_one_sentence_saying_what_to_do(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(ChatError) as error:
        detect_format(empty)
    assert _one_sentence(error) == "empty.json is empty; download the chat again."

    blank = tmp_path / "blank.json"
    blank.write_bytes(b"  \n\n ")
    with pytest.raises(ChatError, match="is empty"):
        detect_format(blank)

    with pytest.raises(ChatError) as error:
        detect_format(tmp_path / "missing.json")
    assert "does not exist; check the path" in _one_sentence(error)

    with pytest.raises(ChatError) as error:
        detect_format(tmp_path)
    assert "is a folder" in _one_sentence(error)

    for name, content in [
        ("video.mp4", b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"),
        ("notes.txt", b"just some notes\nabout the stream\n"),
        ("other.json", b'{"name": "not chat", "items": [1, 2, 3]}'),
        ("list.json", b'[{"foo": 1}, {"foo": 2}]'),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ChatError) as error:
            detect_format(path)
        assert _one_sentence(error).startswith(f"{name} is not a chat replay Hypeline can read;")


def test_truncated_json_says_so_after_the_messages_before_the_cut(tmp_path: Path) -> None:
    path = write_twitchdownloader(tmp_path / "cut.json")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b'"content_offset_seconds": 300.0')])
    assert detect_format(path) == "twitchdownloader"
    read: list[Message] = []
    with pytest.raises(ChatError) as error:
        read.extend(read_chat(path))
    assert len(read) == 5  # everything before the cut was yielded
    assert _one_sentence(error) == (
        "cut.json ends in the middle of its JSON after 5 messages (the download was cut off); "
        "download the chat again."
    )
    tiny = tmp_path / "tiny.json"
    tiny.write_bytes(b'{"comments": [{"content_offs')
    with pytest.raises(ChatError, match="ends in the middle of its JSON after 0 messages"):
        list(read_chat(tiny))
    youtube = write_youtube(tmp_path / "live_chat.json")
    youtube.write_bytes(youtube.read_bytes()[:-40])
    with pytest.raises(ChatError, match="ends in the middle of its JSON after 7 messages"):
        list(read_chat(youtube))


def test_damage_in_the_middle_is_not_called_truncation(tmp_path: Path) -> None:
    path = write_rechat(tmp_path / "rechat.json")
    data = path.read_bytes()
    at = data.index(b'"content_offset_seconds": 300.0')
    path.write_bytes(data[:at] + b"###" + data[at:])
    with pytest.raises(ChatError) as error:
        list(read_chat(path))
    assert _one_sentence(error) == (
        "rechat.json is damaged after 5 messages (not valid JSON there); download the chat again."
    )


def test_negative_offsets_are_refused(tmp_path: Path) -> None:
    chat = [*CHAT[:3], (-4.0, "zed", "time travel", ()), *CHAT[3:]]
    for fmt in ("twitchdownloader", "rechat", "csv"):
        path = WRITERS[fmt](tmp_path / f"neg-{fmt}", chat=chat)
        with pytest.raises(ChatError) as error:
            list(read_chat(path))
        assert _one_sentence(error) == (
            f"neg-{fmt} has a message at -4 s, before the VOD starts, so its times are not "
            "offsets into this VOD; download the chat of the VOD again."
        )
    # On YouTube, chat before the stream went live is skipped, but not once it has started.
    path = write_chat_downloader(tmp_path / "neg-cd", chat=chat)
    with pytest.raises(ChatError, match="has a message at -4 s"):
        list(read_chat(path))


def test_a_time_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    path = write_twitchdownloader(tmp_path / "chat.json")
    path.write_text(
        path.read_text().replace(
            '"content_offset_seconds": 105.0', '"content_offset_seconds": "soon"'
        )
    )
    with pytest.raises(ChatError) as error:
        list(read_chat(path))
    assert _one_sentence(error).startswith("chat.json has a message without a usable time")
    csv_path = tmp_path / "chat.csv"
    csv_path.write_text("time_s,author,text\n1.5,a,hi\nlater,b,yo\n")
    with pytest.raises(ChatError) as error:
        list(read_chat(csv_path))
    assert _one_sentence(error) == (
        "chat.csv line 3: 'later' is not a time; write times as seconds, m:ss or h:mm:ss."
    )


def test_a_csv_without_the_header_or_a_short_row(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("time_s,author,text\n1.5,alice\n")
    with pytest.raises(ChatError) as error:
        list(read_chat(short))
    assert "short.csv line 2 has 2 columns, not 3;" in _one_sentence(error)
    with pytest.raises(ChatError, match="is not a chat format; use one of"):
        list(read_chat(short, fmt="irc"))
