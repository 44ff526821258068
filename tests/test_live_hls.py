"""emotion.live.hls: links someone else gave are fetched in Python, every connection checked."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from emotion.library.store import Store
from emotion.live import LiveSettings, Monitor
from emotion.live.hls import parse_media, pick_variant
from emotion.live.ingest import ENDED, FAILED
from emotion.live.target import Target
from emotion.model.batcher import Batcher
from tests.hls import LiveHls
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
SETTINGS = LiveSettings(labels=("a whistle", "a siren", "clicking"), background=("silence",))


def test_a_media_playlist_is_read_with_its_sequence_init_and_end() -> None:
    text = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:17\n"
        '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg17.m4s\n#EXTINF:4.0,\n'
        "https://cdn.example/seg18.m4s\n#EXT-X-ENDLIST\n"
    )
    playlist = parse_media("https://live.example/a/b/index.m3u8", text)
    assert playlist.sequence == 17 and playlist.target_s == 4.0 and playlist.ended
    assert playlist.init == "https://live.example/a/b/init.mp4"
    assert playlist.segments == (
        "https://live.example/a/b/seg17.m4s",
        "https://cdn.example/seg18.m4s",
    )
    assert not playlist.encrypted
    locked = parse_media("https://x.example/i.m3u8", '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="k"\n')
    assert locked.encrypted and not locked.ended and locked.segments == ()


def test_a_master_playlist_gives_its_audio_rendition_else_its_lightest_variant() -> None:
    variants = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\nsource/index.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2"\naudio_only/index.m3u8\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=1200000\n480p/index.m3u8\n"
    )
    base = "https://live.example/c/master.m3u8"
    assert pick_variant(base, variants) == "https://live.example/c/audio_only/index.m3u8"
    rendition = '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="en/a.m3u8"\n' + variants
    assert pick_variant(base, rendition) == "https://live.example/c/en/a.m3u8"
    assert pick_variant(base, "#EXTM3U\n#EXTINF:2,\ns0.ts\n") is None  # a media playlist


@pytest.mark.decoder
def test_a_guarded_monitor_follows_a_stream_fetched_in_python(clap, tmp_path: Path) -> None:
    audio = make_vod([("a whistle", 4.0, 12.0)], 18.0, SR, np.random.default_rng(21))
    media = write_media(tmp_path / "vod.wav", audio, SR)
    store = Store(tmp_path / "home")
    alerts: list = []
    with LiveHls(tmp_path, media) as live:
        live.wait_for_segments(1)
        allowed = frozenset({("127.0.0.1", live.port)})  # the test's server, as if public
        monitor = Monitor(
            live.url, SETTINGS, Batcher(clap), store, on_alert=alerts.append, guard=allowed
        )
        monitor.start()
        assert monitor.join(120), "the monitor did not see the end list"
        assert monitor.error is None and monitor.state == ENDED
        assert live._server is not None and live._server.count("GET", "/live.m3u8") >= 2
    assert [a.label for a in alerts] == ["a whistle"] and alerts[0].score >= 0.5
    assert alerts[0].stream_time_s <= 12.0
    assert store.analysis(monitor.record.id).complete


@pytest.mark.decoder
def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_connect(
    clap, tmp_path: Path
) -> None:
    # The link was checked and found public (the Target stands for that check); by the
    # read, its name leads to 127.0.0.1. ffmpeg would have connected; the guarded fetch
    # refuses before a packet is sent, and the monitor fails with the sentence.
    audio = make_vod([], 8.0, SR, np.random.default_rng(22))
    media = write_media(tmp_path / "vod.wav", audio, SR)
    with LiveHls(tmp_path, media) as live:
        live.wait_for_segments(1)
        states: list[str] = []
        monitor = Monitor(
            live.url,
            SETTINGS,
            Batcher(clap),
            Store(tmp_path / "home"),
            on_status=lambda s, _m: states.append(s),
            target=Target(live.url, "hls", "a public-looking stream"),
            guard=frozenset(),
        )
        monitor.start()
        assert monitor.join(30)
        assert live._server is not None and live._server.requests == []  # nothing reached it
    assert monitor.state == FAILED and monitor.record is None
    assert monitor.error is not None and "127.0.0.1 (loopback address" in monitor.error
    assert "public links only" in monitor.error and states[0] == "connecting"
    assert threading.active_count() < 50  # no fetcher left behind per try
