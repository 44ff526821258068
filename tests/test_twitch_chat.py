"""Twitch chat read live over IRC (against tests/ircserver.py on 127.0.0.1), and chat's answer
to live alerts: the rolling rate on the stream's clock, the usual rate, held alerts."""

from __future__ import annotations

import queue
import re
import threading
import time

import pytest

from emotion.errors import HypelineError
from emotion.live.alerts import Alert
from emotion.live.chat import ChatSettings, HeldAlerts, LiveChat, StreamClock
from emotion.live.chat_follower import ChatFollower
from emotion.live.twitch_chat import (
    ChatMessage,
    ChatState,
    Endpoint,
    TwitchChat,
    channel_of,
    check_channel,
    parse_line,
    privmsg,
)
from emotion.scoring.keywords import DEFAULT_KEYWORDS, parse_keywords
from hypeline_cli.main import main
from tests.httpserver import closed_port
from tests.ircserver import IrcServer

WAIT_S = 10.0


class Reader:
    """A ``TwitchChat`` on a thread; its events in a queue."""

    def __init__(self, chat: TwitchChat) -> None:
        self.chat = chat
        self.events: queue.Queue[ChatMessage | ChatState] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for event in self.chat.events():
            self.events.put(event)
        self.events.put(ChatState("done", ""))

    def __enter__(self) -> Reader:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.chat.stop.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "the reader did not stop"

    def next(self, kind: type) -> ChatMessage | ChatState:
        deadline = time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, kind):
                return event
        raise AssertionError(f"no {kind.__name__} within {WAIT_S:g} s")


def _reader(irc: IrcServer, channel: str = "hypechannel", **kw) -> Reader:
    return Reader(TwitchChat(channel, Endpoint.parse(irc.address), **kw))


# --- the protocol, line by line --------------------------------------------------------


def test_privmsg_lines_give_author_text_and_emotes_in_text_order() -> None:
    # positions count code points: the emoji before each Kappa is one character
    line = parse_line(
        r"@badge-info=;color=#0D4200;display-name=Ünï\scode;emotes=25:2-6,10-14/1902:16-20;"
        r"id=b3;tmi-sent-ts=1507246572675 :unicode!unicode@unicode.tmi.twitch.tv "
        "PRIVMSG #ronni :😂 Kappa 🎉 Kappa Keepo LUL"
    )
    assert line.command == "PRIVMSG" and line.params == ("#ronni", "😂 Kappa 🎉 Kappa Keepo LUL")
    message = privmsg(line, 12.5)
    assert message == ChatMessage(
        12.5, "Ünï code", "😂 Kappa 🎉 Kappa Keepo LUL", ("Kappa", "Kappa", "Keepo")
    )
    # /me, no tags, an emote range past the end of the text (twitchdev/issues#104)
    bare = privmsg(parse_line(":ab!ab@ab.tmi.twitch.tv PRIVMSG #c :\x01ACTION waves\x01"), 1.0)
    assert bare == ChatMessage(1.0, "ab", "waves", ())
    past = privmsg(parse_line("@emotes=25:40-44 :ab!ab@x PRIVMSG #c :short Kappa"), 1.0)
    assert past is not None and past.emotes == ()
    assert privmsg(parse_line("PING :tmi.twitch.tv"), 0.0) is None
    assert parse_line("PING :tmi.twitch.tv").params == ("tmi.twitch.tv",)


def test_channels_come_from_twitch_links_or_names_and_endpoints_from_text() -> None:
    assert channel_of("https://www.twitch.tv/Some_Streamer") == "some_streamer"
    assert channel_of("twitch.tv/xqc?referrer=raid") == "xqc"
    assert channel_of("https://m.twitch.tv/xqc/clip/abc") == "xqc"
    for other in (
        "https://www.twitch.tv/videos/123",
        "https://youtube.com/@x/live",
        "/streams/file.flac",
        "https://twitch.tv/",
    ):
        assert channel_of(other) is None, other
    assert check_channel("#Hype_Line") == "hype_line"
    with pytest.raises(HypelineError, match="not a Twitch channel name"):
        check_channel("no spaces")
    assert Endpoint.parse("127.0.0.1:6667") == Endpoint("127.0.0.1", 6667, False)
    assert Endpoint.parse("ircs://irc.example:6697") == Endpoint("irc.example", 6697, True)
    assert Endpoint() == Endpoint("irc.chat.twitch.tv", 6697, True)  # Twitch's TLS port
    with pytest.raises(HypelineError, match="not an IRC address"):
        Endpoint.parse("http://irc.example")


# --- against a server ----------------------------------------------------------------


def test_logs_in_anonymously_joins_answers_ping_and_reads_messages() -> None:
    with IrcServer() as irc, _reader(irc) as reader:
        assert reader.next(ChatState).state == "connecting"
        assert reader.next(ChatState) == ChatState("connected", "reading #hypechannel")
        (conn,) = irc.connections
        cap, password, nick, join = conn.lines[:4]
        assert (cap, password, join) == (
            "CAP REQ :twitch.tv/tags",
            "PASS SCHMOOPIIE",
            "JOIN #hypechannel",
        )
        assert re.fullmatch(r"NICK justinfan\d+", nick)
        irc.ping("tmi.twitch.tv")
        irc.wait_for(lambda: "PONG :tmi.twitch.tv" in conn.lines, "PONG")
        before = time.monotonic()
        irc.say("hypechannel", "🔥 PogChamp no way 🔥", author="Viewer_1", emotes="88:2-9")
        message = reader.next(ChatMessage)
        assert (message.author, message.text, message.emotes) == (
            "Viewer_1",
            "🔥 PogChamp no way 🔥",
            ("PogChamp",),
        )
        assert before <= message.received <= time.monotonic()
        # only PRIVMSG lines, and nothing was ever sent to the channel
        assert not [line for line in conn.lines if line.startswith("PRIVMSG")]


def test_a_dropped_connection_is_joined_again_and_reading_goes_on() -> None:
    with IrcServer() as irc, _reader(irc, first_backoff_s=0.1) as reader:
        reader.next(ChatState)
        assert reader.next(ChatState).state == "connected"
        irc.wait_for_join("hypechannel")  # the server counts the JOIN after echoing it
        irc.say("hypechannel", "first")
        assert reader.next(ChatMessage).text == "first"
        irc.drop()
        state = reader.next(ChatState)
        assert state.state == "reconnecting" and "closed the connection" in state.message
        assert reader.next(ChatState).state == "connected"
        irc.wait_for_join("hypechannel", count=2)
        irc.say("hypechannel", "second KEKW")
        assert reader.next(ChatMessage).text == "second KEKW"
        assert reader.chat.connections == 2 and len(irc.connections) == 2


def test_a_silent_connection_is_asked_then_replaced() -> None:
    # The server answers no PING of the client's: after idle_ping_s it asks, after
    # pong_timeout_s more it gives that connection up and makes a new one.
    with (
        IrcServer() as irc,
        _reader(irc, first_backoff_s=0.05, idle_ping_s=0.3, pong_timeout_s=0.3) as reader,
    ):
        reader.next(ChatState)
        assert reader.next(ChatState).state == "connected"
        state = reader.next(ChatState)
        assert state.state == "reconnecting" and "no answer" in state.message
        assert "PING :tmi.twitch.tv" in irc.connections[0].lines
        assert reader.next(ChatState).state == "connected"


def test_a_server_that_never_answers_is_given_up_after_the_retries() -> None:
    chat = TwitchChat(
        "hypechannel",
        Endpoint("127.0.0.1", closed_port(), False),
        max_retries=2,
        first_backoff_s=0.05,
    )
    started = time.monotonic()
    states = [e for e in chat.events() if isinstance(e, ChatState)]
    assert [s.state for s in states] == ["connecting", "reconnecting", "reconnecting", "gave up"]
    assert "refused the connection" in states[-1].message
    assert [s.message.split(" in ")[1].split(" ")[0] for s in states[1:3]] == ["0.05", "0.1"]
    assert time.monotonic() - started < 5


def test_a_monitors_chat_reads_closed_once_the_monitor_has_ended() -> None:
    # The reader's last word was "connected"; once the monitor closes it, the faces must
    # not go on showing a live chat (ChatNow is what the API and the Live page show).
    clock, notes = StreamClock(), []
    with IrcServer() as irc:
        settings = ChatSettings("hypechannel", endpoint=Endpoint.parse(irc.address))
        follower = ChatFollower(settings, clock, notes.append)
        assert follower.now().state == "connecting" and not follower.now().connected
        follower.start()
        irc.wait_for_join("hypechannel")
        clock.mark(0.0, time.monotonic())  # the first audio: stream time 0
        irc.say("hypechannel", "KEKW")
        deadline = time.monotonic() + WAIT_S
        while follower.chat.n_messages < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        now = follower.now()
        reading = (now.channel, now.state, now.connected, now.messages)
        assert reading == ("hypechannel", "connected", True, 1)
        follower.close()
    assert follower.thread is not None and not follower.thread.is_alive()
    closed = follower.now()
    assert (closed.state, closed.connected, closed.messages) == ("closed", False, 1)
    connecting = f"chat: connecting to #hypechannel at {settings.endpoint}"
    assert notes == [connecting, "chat: reading #hypechannel"]


# --- chat's answer to an alert ---------------------------------------------------------


def _chat(per_second: dict[int, int], text: str = "hello", heard_from_s: float = 0.0) -> LiveChat:
    chat = LiveChat()
    chat.connected(heard_from_s)
    for second, n in sorted(per_second.items()):
        for i in range(n):
            chat.add(second + i / (n + 1), text)
    return chat


def _alert(at_s: float) -> Alert:
    return Alert("cheer", 0.8, at_s, "2026-01-01T00:00:00.000Z", 1, "https://twitch.tv/c")


def test_the_usual_rate_is_chat_before_the_moment_and_the_answer_comes_after_the_lag() -> None:
    background = {s: 1 for s in range(0, 60)}  # one message a second: 10 per 10 s
    chat = _chat(background)
    for i in range(30):  # a burst at 42–43 s, half of it KEKW
        chat.add(42 + i / 30, "KEKW KEKW" if i % 2 else "no way LUL")
    assert chat.usual(40.0) == (10.0, True)
    assert chat.messages_per_10s(50.0) == 40
    answer = chat.reaction(35.0, 5.0, 10.0)  # [40, 50): 10 + 30 messages
    assert answer.messages == 40 and answer.rate_vs_baseline == pytest.approx(4.0)
    assert answer.top == ("KEKW", "LUL", "no way")
    quiet = chat.reaction(15.0, 5.0, 10.0)
    assert quiet.messages == 10 and quiet.rate_vs_baseline == pytest.approx(1.0)
    assert LiveChat().usual(40.0) == (1.0, False)  # nothing read yet: the floor, unmeasured


def test_held_alerts_wait_for_the_span_and_the_rule_holds_back_an_unanswered_one() -> None:
    chat = _chat({s: 1 for s in range(0, 80)})
    for i in range(30):
        chat.add(36 + i / 30, "Pog")
    held = HeldAlerts(chat, ChatSettings("chan", lag_s=5.0, needs=2.0))
    held.hold(_alert(30.0))  # answered at 36 s, in its span [35, 45)
    held.hold(_alert(60.0))  # no answer
    assert held.due(44.9) == ([], []) and len(held) == 2
    (sent,), () = held.due(45.0)
    assert sent.chat is not None and (sent.chat.messages, sent.chat.rate_vs_baseline) == (40, 4.0)
    assert sent.chat.complete and sent.chat.top == ("Pog",) and sent.chat.baseline_per_10s == 10.0
    assert sent.to_dict()["chat"] == {
        "channel": "chan",
        "messages": 40,
        "rate_vs_baseline": 4.0,
        "baseline_per_10s": 10.0,
        "top": ["Pog"],
        "lag_s": 5.0,
        "complete": True,
    }
    (), (refused,) = held.due(75.0)
    assert refused.chat is not None and refused.chat.rate_vs_baseline == 1.0
    assert len(held) == 0 and held.wait_s(75.0) == 0.0


def test_an_answer_the_chat_was_not_read_for_never_holds_an_alert_back() -> None:
    chat = _chat({s: 1 for s in range(0, 30)})
    chat.disconnected(31.5)  # the chat dropped during the span of the alert at 25 s
    held = HeldAlerts(chat, ChatSettings("chan", lag_s=5.0, needs=2.0))
    held.hold(_alert(25.0))
    (sent,), () = held.due(40.0)
    assert sent.chat is not None and not sent.chat.complete
    chat.connected(38.0)
    early = HeldAlerts(_chat({}, heard_from_s=0.0), ChatSettings("chan", lag_s=0.0, needs=2.0))
    early.hold(_alert(5.0))  # less than 10 s of chat before it: no usual rate to judge by
    (sent,), () = early.due(20.0, all_now=True)
    assert sent.chat is not None and not sent.chat.complete


def test_settings_are_checked_and_the_clock_follows_the_audio() -> None:
    with pytest.raises(HypelineError, match="lag"):
        ChatSettings("chan", lag_s=-1).check()
    with pytest.raises(HypelineError, match="usual rate"):
        ChatSettings("chan", needs=0).check()
    with pytest.raises(HypelineError, match="channel name"):
        ChatSettings("not a channel").check()
    clock = StreamClock()
    assert clock.at(100.0) is None  # no audio yet
    clock.mark(12.0, 100.0)
    assert clock.at(100.0) == 12.0 and clock.at(103.5) == 15.5 and clock.at(99.0) == 12.0


# --- the user's keywords ---------------------------------------------------------------


def test_the_users_keywords_are_counted_in_the_alerts_answer() -> None:
    """A catJAM burst (no Twitch emote tag: a 7TV/BTTV emote) names catJAM in the alert's
    chat top with the user's list, and goes unnamed with the defaults."""
    theirs = ChatSettings.of(
        "twitch",
        "https://www.twitch.tv/HypeChannel",
        lag_s=0.0,
        keywords=parse_keywords("KEKW, catJAM"),
    )
    assert theirs.channel == "hypechannel" and theirs.keywords == ("KEKW", "catJAM")
    assert ChatSettings.of("twitch:other", "x.flac").keywords == DEFAULT_KEYWORDS
    clock = StreamClock()
    chats = {"theirs": LiveChat(theirs.keywords), "defaults": LiveChat()}
    with IrcServer() as irc, _reader(irc, theirs.channel) as reader:
        assert reader.next(ChatState).state == "connecting"
        assert reader.next(ChatState).state == "connected"
        irc.wait_for_join(theirs.channel)
        clock.mark(0.0, time.monotonic())  # the first audio: stream time 0
        for chat in chats.values():
            chat.connected(0.0)
        for k in range(12):
            irc.say(theirs.channel, "catJAM catJAM" if k % 3 else "KEKW catJAM", author=f"fan{k}")
        for _ in range(12):
            message = reader.next(ChatMessage)
            at_s = clock.at(message.received)
            assert at_s is not None and 0 <= at_s < 5
            for chat in chats.values():
                chat.add(at_s, message.text, message.emotes)
    answers = {}
    for name, chat in chats.items():
        held = HeldAlerts(chat, theirs)
        held.hold(_alert(0.0))
        (sent,), () = held.due(10.0)
        assert sent.chat is not None and sent.chat.messages == 12
        answers[name] = sent.chat.top
    assert answers["theirs"] == ("catJAM", "KEKW")  # 12 messages with catJAM, 4 with KEKW
    assert "catJAM" not in answers["defaults"] and answers["defaults"] == ("KEKW",)


def test_bad_keywords_are_refused_in_one_sentence(capsys) -> None:
    with pytest.raises(HypelineError, match="remove the blank ones"):
        ChatSettings.of("twitch:chan", "x", keywords=("KEKW", " "))
    with pytest.raises(HypelineError, match="at most 50"):
        ChatSettings("chan", keywords=tuple(f"k{i}" for i in range(51))).check()
    with pytest.raises(HypelineError, match=r"use twitch or twitch:CHANNEL\.$"):
        ChatSettings.of("youtube", "x")
    for extra, says in (
        (
            ["--chat", "twitch:chan", "--chat-keywords", "KEKW,,LUL"],
            "blank ones (--chat-keywords).",
        ),
        (["--chat-keywords", "KEKW"], "add --chat twitch."),
    ):
        assert main(["live", "x.flac", "--labels", "cheer", *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.strip().splitlines() == [err.strip()] and says in err, err
