"""The live monitor end to end with the fixture model: a loopback HLS stream, and files read live.

The HLS stream is real: ffmpeg ``-re`` writes 2 s segments of a synthetic VOD with known
events into a rolling playlist, served on 127.0.0.1 (``tests/hls.py``).
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.clock import clock
from emotion.export import FILENAMES, write_exports
from emotion.library.store import Store
from emotion.live import AlertSettings, LiveSettings, Monitor
from emotion.live.ingest import ENDED
from emotion.media.audio import probe
from emotion.media.sources import open_source
from emotion.model.batcher import Batcher
from emotion.scoring.highlights import HighlightSettings, cell_timeline
from tests.hls import LiveHls
from tests.media import write_media
from tests.synth import make_vod

pytestmark = pytest.mark.decoder  # every test here reads media through ffmpeg

SR = 48_000
LABELS = ("a whistle", "a siren", "clicking")
BACKGROUND = ("silence",)
RUN_TIMEOUT_S = 180


def _settings(**kw) -> LiveSettings:
    return LiveSettings(labels=LABELS, background=BACKGROUND, **kw)


def test_a_loopback_stream_alerts_survives_a_drop_and_ends_as_an_analysis(
    clap, tmp_path: Path
) -> None:
    events = [("a whistle", 6.0, 14.0), ("a siren", 46.0, 56.0)]
    audio = make_vod(events, 64.0, SR, np.random.default_rng(5))
    media = write_media(tmp_path / "vod.wav", audio, SR)
    store = Store(tmp_path / "home")
    alerts, states = [], []
    with LiveHls(tmp_path, media) as live:
        live.wait_for_segments(1)  # the monitor starts at the stream's first segment
        monitor = Monitor(
            live.url,
            _settings(),
            Batcher(clap),
            store,
            on_alert=alerts.append,
            on_status=lambda s, _m: states.append(s),
        )
        monitor.start()
        _wait(lambda: alerts, 40, "the first alert")
        live.down()  # the server is gone (connections cut, new ones refused) for 10 s
        threading.Event().wait(10)
        live.up()
        assert monitor.join(RUN_TIMEOUT_S), "the monitor did not see the end list"
    assert monitor.error is None and monitor.state == ENDED
    assert states[:2] == ["connecting", "connected"] and "reconnecting" in states

    # one gap, about the outage (plus the reconnect's backoff), and no window spans it
    ((gap_start_s, gap_end_s),) = store.gaps(monitor.record.id)
    assert 8.0 <= gap_end_s - gap_start_s <= 30.0, (gap_start_s, gap_end_s)
    # the alerts: the whistle where it is, the siren after the gap, nothing else
    assert [a.label for a in alerts] == ["a whistle", "a siren"], alerts
    whistle, siren = alerts
    assert 6.0 - 10.0 < whistle.stream_time_s <= 14.0 and whistle.score >= 0.5
    assert gap_end_s <= siren.stream_time_s and siren.analysis_id == monitor.record.id
    assert siren.source == live.url and siren.detected_at.endswith("Z")

    # it is an ordinary analysis now: complete, scored, exported, its audio recorded
    record = store.analysis(monitor.record.id)
    assert record.complete and record.kind == "live"
    assert record.n_done == int((record.duration_s - 10.0) // 2.5) + 1 + (
        (record.duration_s - 10.0) % 2.5 >= 1.0
    )
    vectors = store.vectors(record)
    in_gap = [i for i in range(record.n_done) if i * 2.5 < gap_end_s and i * 2.5 + 10 > gap_start_s]
    assert np.all(vectors[in_gap] == 0) and np.all(
        np.linalg.norm(np.delete(vectors, in_gap, 0), axis=1) > 0.99
    )
    analysis = monitor.analysis()
    assert sorted({h.label for h in analysis.highlights}) == ["a siren", "a whistle"]
    written = write_exports(analysis, tmp_path / "out", ["json", "csv"])
    assert [p.name for p in written] == [FILENAMES["json"], FILENAMES["csv"]]
    exported = json.loads((tmp_path / "out" / FILENAMES["json"]).read_text())
    assert {h["label"] for h in exported["highlights"]} == {"a whistle", "a siren"}
    info = probe(record.source.path)
    assert info.audio_tracks[0].codec == "opus"
    assert info.duration_s == pytest.approx(record.duration_s, abs=0.5)


def test_a_producer_restarting_from_sequence_0_is_survived(clap, tmp_path: Path) -> None:
    # The encoder restarts: the playlist starts again at media sequence 0, and ffmpeg
    # waits for the sequence number it expects next. Past 15 s (here: 16 s of stream to
    # wait for) the stall is detected, the read restarted, and the time lost is one gap.
    audio = make_vod([("a siren", 24.0, 32.0)], 36.0, SR, np.random.default_rng(6))
    media = write_media(tmp_path / "vod.wav", audio, SR)
    store = Store(tmp_path / "home")
    alerts: list = []
    with LiveHls(tmp_path, media) as live:
        live.wait_for_segments(1)
        monitor = Monitor(live.url, _settings(), Batcher(clap), store, on_alert=alerts.append)
        monitor.start()
        _wait(lambda: monitor.stream_s >= 16.0, 40, "16 s of stream")
        live.produce()  # from the start again, sequence 0
        assert monitor.join(RUN_TIMEOUT_S)
    assert monitor.error is None and monitor.state == ENDED
    ((gap_start_s, gap_end_s),) = store.gaps(monitor.record.id)
    assert gap_end_s - gap_start_s >= 15.0  # at least the stall it took to notice
    assert [a.label for a in alerts] == ["a siren"] and alerts[0].stream_time_s >= gap_end_s - 10
    assert store.analysis(monitor.record.id).complete


def test_live_windows_equal_offline_ones_with_two_streams_sharing_the_model(
    clap, tmp_path: Path
) -> None:
    audio = make_vod([("clicking", 3.0, 11.0)], 21.0, SR, np.random.default_rng(9))
    first = write_media(tmp_path / "one.flac", audio, SR)
    second = shutil.copy(first, tmp_path / "two.flac")
    store = Store(tmp_path / "home")
    embedder = Batcher(clap, max_batch=8)
    monitors = [
        Monitor(
            str(p), _settings(realtime=True, alerts=AlertSettings(cooldown_s=0)), embedder, store
        )
        for p in (first, second)
    ]
    for m in monitors:
        m.start()
    assert all(m.join(RUN_TIMEOUT_S) for m in monitors)
    offline_store = Store(tmp_path / "offline")
    offline_record = embed_source(
        clap, offline_store, open_source(str(first)), "offline", 10.0, 2.5
    )
    offline = offline_store.vectors(offline_record)
    for m in monitors:
        assert m.error is None and m.state == ENDED
        live = store.vectors(store.analysis(m.record.id))
        assert live.shape == offline.shape == (6, 32)  # 0, 2.5, …, 10 and the 1 s tail at 12.5
        cosine = np.sum(live * offline, axis=1)
        assert cosine.min() >= 0.9999, cosine
        assert [a.label for a in m.alerts] == ["clicking"]
        assert m.alerts[0].stream_time_s in (0.0, 2.5, 5.0)


def test_a_file_read_live_has_its_moment_where_analyze_puts_it(clap, tmp_path: Path) -> None:
    # Late in the file, so that the start of the window that first hears it (where an
    # alert used to be placed) is seconds before where Analyze's highlight starts.
    audio = make_vod([("clicking", 11.0, 18.0)], 22.0, SR, np.random.default_rng(12))
    media = write_media(tmp_path / "file.flac", audio, SR)
    store = Store(tmp_path / "home")
    monitor = Monitor(str(media), _settings(realtime=True), Batcher(clap), store)
    monitor.run()
    assert monitor.error is None and monitor.state == ENDED
    # Analyze on the same file, with the same prompts and threshold
    offline_store = Store(tmp_path / "offline")
    record = embed_source(clap, offline_store, open_source(str(media)), "vod", 10.0, 2.5)
    vod = score(
        record,
        offline_store.vectors(record),
        clap,
        LABELS,
        BACKGROUND,
        settings=HighlightSettings(threshold=monitor.settings.alerts.threshold),
    )
    (highlight,) = vod.highlights
    (alert,) = monitor.alerts
    assert (alert.label, clock(alert.stream_time_s)) == (highlight.label, clock(highlight.start_s))
    assert 8.0 <= alert.stream_time_s <= 11.0, alert  # at the event, not a window before it
    # the rolling timeline is Analyze's cell timeline, cell for cell
    starts, cells = cell_timeline(vod.scores, 2.5, 10.0, vod.duration_s)
    assert [p.start_s for p in monitor.timeline] == starts.tolist()
    np.testing.assert_allclose([p.probabilities for p in monitor.timeline], cells, atol=2e-3)
    assert [(h.label, h.start_s, h.peak_s) for h in monitor.analysis().highlights] == [
        (highlight.label, highlight.start_s, highlight.peak_s)
    ]


def _wait(condition, timeout_s: float, what: str) -> None:
    done = threading.Event()
    for _ in range(int(timeout_s / 0.1)):
        if condition():
            return
        done.wait(0.1)
    raise AssertionError(f"no {what} within {timeout_s:.0f} s")
