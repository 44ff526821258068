"""Every export format, read back by parsing what was written; clips; all-or-nothing writes."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import emotion.export as export
from emotion.analysis import Analysis
from emotion.errors import ExportError
from emotion.export import FILENAMES, FORMATS, get_writer, parse_formats, slugify, write_exports
from emotion.export.clips import clip_suffix
from emotion.export.timefmt import from_rational
from emotion.media.audio import load_audio, probe
from emotion.media.source import Source
from emotion.progress import Progress
from emotion.scoring.highlights import Highlight
from tests.media import tone, write_media

SR = 16_000
LABELS = ["win celebration", "laughing"]
BACKGROUND = ["silence", "talking"]

# Out of order on purpose: every time-based file sorts them by start.
HIGHLIGHTS = [
    Highlight("laughing", 30.0, 34.0, 32.5, 0.81234),
    Highlight("win celebration", 12.52, 18.0, 15.0, 0.93456),
    Highlight("win celebration", 0.5, 3.0, 1.0, 0.7),
    Highlight("laughing", 36.0, 39.5, 38.0, 0.66),
]


@pytest.fixture(scope="module")
def wav_60s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "stream.wav"
    return write_media(path, tone(440, 60.0, SR), SR)


@pytest.fixture(scope="module")
def mp4_40s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "stream.mp4"
    return write_media(path, tone(440, 40.0, SR), SR, audio_args=("-c:a", "aac"), video=True)


def make_analysis(
    source: Source, highlights: list[Highlight], window_s: float = 10.0, hop_s: float = 5.0
) -> Analysis:
    duration_s = source.duration_s or 60.0
    starts = np.arange(0.0, max(duration_s - window_s, 0.0) + 1e-9, hop_s)
    rng = np.random.default_rng(0)
    scores = rng.dirichlet(np.ones(len(LABELS) + len(BACKGROUND)), size=starts.size)
    return Analysis(
        source=source,
        model="laion/clap-htsat-unfused",
        window_s=window_s,
        hop_s=hop_s,
        template="This is a sound of {}.",
        labels=LABELS,
        background=BACKGROUND,
        window_starts_s=starts,
        scores=scores.astype(np.float32),
        highlights=highlights,
    )


def wav_analysis(path: Path, highlights: list[Highlight] = HIGHLIGHTS) -> Analysis:
    return make_analysis(Source(path, "My stream", 60.0), highlights)


def video_analysis(path: Path, highlights: list[Highlight] = HIGHLIGHTS) -> Analysis:
    source = Source(path, "Video VOD", 40.0, has_video=True, fps=25.0)
    return make_analysis(source, highlights)


def in_order(highlights: list[Highlight]) -> list[Highlight]:
    return sorted(highlights, key=lambda h: h.start_s)


# --- the family ---------------------------------------------------------------------------


def test_every_format_has_a_writer_and_a_file_name() -> None:
    for fmt in FORMATS:
        assert callable(get_writer(fmt))
    assert set(FILENAMES) == set(FORMATS)
    with pytest.raises(ExportError, match="Unknown export format 'pdf'"):
        get_writer("pdf")


def test_parse_formats() -> None:
    assert parse_formats("json, CSV,json") == ["json", "csv"]
    assert parse_formats("all") == list(FORMATS)
    assert parse_formats("") == []
    with pytest.raises(ExportError, match="Unknown export format 'xml'"):
        parse_formats("json,xml")


def test_slugs_and_clip_containers(tmp_path: Path) -> None:
    assert slugify("Stream #42 — GG!") == "stream-42-gg"
    assert slugify("¡Olé! café") == "olé-café"
    assert slugify("!!!") == "untitled" and len(slugify("a" * 200)) == 60
    video = Source(tmp_path / "vod.MKV", "v", 1.0, has_video=True, fps=30.0)
    assert clip_suffix(video) == ".mkv"
    assert clip_suffix(Source(tmp_path / "vod.webm", "v", 1.0, has_video=True)) == ".mp4"
    assert clip_suffix(Source(tmp_path / "vod.mp4", "v", 1.0)) == ".m4a"  # audio only


def test_write_exports_writes_each_format_and_reports_progress(
    wav_60s: Path, tmp_path: Path
) -> None:
    calls: list[Progress] = []
    out = tmp_path / "new" / "folder"
    paths = write_exports(wav_analysis(wav_60s), out, FORMATS, progress=calls.append)
    assert paths == [out / FILENAMES[fmt] for fmt in FORMATS]
    assert sorted(p.name for p in out.iterdir()) == sorted(FILENAMES.values())  # no temp files
    n = len(FORMATS)  # the shape of every long step's progress
    assert calls == [Progress("export", i / n, f"{i}/{n} files") for i in range(n + 1)]


def test_unknown_format_fails_before_writing_anything(wav_60s: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="choose from json, csv"):
        write_exports(wav_analysis(wav_60s), tmp_path, ["json", "pdf"])
    assert list(tmp_path.iterdir()) == []


# --- json / csv / srt --------------------------------------------------------------------


def test_json_round_trip(wav_60s: Path, tmp_path: Path) -> None:
    analysis = wav_analysis(wav_60s)
    (path,) = write_exports(analysis, tmp_path, ["json"])
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["source"] == {
        "title": "My stream",
        "path": str(wav_60s),
        "duration_s": 60.0,
        "audio_track": 1,
    }
    assert doc["nonfinite_audio_s"] == 0.0
    assert doc["model"] == "laion/clap-htsat-unfused"
    assert (doc["window_s"], doc["hop_s"]) == (10.0, 5.0)
    assert doc["labels"] == LABELS and doc["background"] == BACKGROUND
    assert doc["template"] == "This is a sound of {}."
    assert doc["highlights"] == [
        {"label": "win celebration", "start_s": 0.5, "end_s": 3.0, "peak_s": 1.0, "score": 0.7},
        {
            "label": "win celebration",
            "start_s": 12.52,
            "end_s": 18.0,
            "peak_s": 15.0,
            "score": 0.9346,
        },
        {"label": "laughing", "start_s": 30.0, "end_s": 34.0, "peak_s": 32.5, "score": 0.8123},
        {"label": "laughing", "start_s": 36.0, "end_s": 39.5, "peak_s": 38.0, "score": 0.66},
    ]
    timeline = doc["timeline"]
    assert timeline["start_s"] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0]
    assert list(timeline["scores"]) == [*LABELS, *BACKGROUND]
    for j, prompt in enumerate(analysis.prompts):
        values = timeline["scores"][prompt]
        assert len(values) == 11
        assert values == [round(float(x), 4) for x in analysis.scores[:, j]]
    assert all(x == round(x, 4) for x in timeline["scores"]["laughing"])


def test_json_names_the_url_for_downloads(wav_60s: Path, tmp_path: Path) -> None:
    source = Source(wav_60s, "VOD", None, url="https://www.twitch.tv/videos/1")
    (path,) = write_exports(make_analysis(source, []), tmp_path, ["json"])
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["source"] == {
        "title": "VOD",
        "url": "https://www.twitch.tv/videos/1",
        "duration_s": 60.0,  # nothing else known: the end of the last window (50 + 10 s)
        "audio_track": 1,
    }
    assert doc["highlights"] == []

    # a download that did not say how long it is: the decoded length stands in
    analysis = make_analysis(source, [])
    analysis.duration_s = 61.5
    (path,) = write_exports(analysis, tmp_path, ["json"])
    assert json.loads(path.read_text(encoding="utf-8"))["source"]["duration_s"] == 61.5


def test_csv_rows(wav_60s: Path, tmp_path: Path) -> None:
    (path,) = write_exports(wav_analysis(wav_60s), tmp_path, ["csv"])
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "label",
        "start_s",
        "end_s",
        "peak_s",
        "score",
        "start",
        "end",
        "usual",
        "relative",
        "why",
    ]
    # Made by hand here: no usual level known, so no ratio in "why".
    assert rows[1:] == [
        [
            "win celebration",
            "0.500",
            "3.000",
            "1.000",
            "0.7000",
            "0:00:00.500",
            "0:00:03.000",
            "",
            "",
            "win celebration 0.70",
        ],
        [
            "win celebration",
            "12.520",
            "18.000",
            "15.000",
            "0.9346",
            "0:00:12.520",
            "0:00:18.000",
            "",
            "",
            "win celebration 0.93",
        ],
        [
            "laughing",
            "30.000",
            "34.000",
            "32.500",
            "0.8123",
            "0:00:30.000",
            "0:00:34.000",
            "",
            "",
            "laughing 0.81",
        ],
        [
            "laughing",
            "36.000",
            "39.500",
            "38.000",
            "0.6600",
            "0:00:36.000",
            "0:00:39.500",
            "",
            "",
            "laughing 0.66",
        ],
    ]


SRT_CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n", re.M
)


def srt_seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def test_srt_cue_times(wav_60s: Path, tmp_path: Path) -> None:
    (path,) = write_exports(wav_analysis(wav_60s), tmp_path, ["srt"])
    text = path.read_text(encoding="utf-8")
    cues = SRT_CUE.findall(text)
    assert len(cues) == 4 and len(text.strip().split("\n\n")) == 4
    got = [(int(c[0]), srt_seconds(*c[1:5]), srt_seconds(*c[5:9]), c[9]) for c in cues]
    assert got == [
        (1, 0.5, 3.0, "win celebration (0.70)"),
        (2, 12.52, 18.0, "win celebration (0.93)"),
        (3, 30.0, 34.0, "laughing (0.81)"),
        (4, 36.0, 39.5, "laughing (0.66)"),
    ]
    assert "00:00:12,520 --> 00:00:18,000" in text


# --- EDL -------------------------------------------------------------------------------------

EDL_EVENT = re.compile(
    r"^(\d{3})  001      V     C        (\S+) (\S+) (\S+) (\S+)\s*\n"
    r" \|C:ResolveColor(\w+) \|M:(.+) \|D:(\d+)$",
    re.M,
)


@pytest.mark.decoder
def test_edl_markers_at_25_fps(mp4_40s: Path, tmp_path: Path) -> None:
    (path,) = write_exports(video_analysis(mp4_40s), tmp_path, ["edl"])
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["TITLE: Video VOD", "FCM: NON-DROP FRAME"]
    events = EDL_EVENT.findall(text)
    assert len(events) == 4
    assert [e[0] for e in events] == ["001", "002", "003", "004"]
    # record in/out = source in/out: one frame at the marker
    assert [e[1:5] for e in events] == [
        ("00:00:00:12", "00:00:00:13", "00:00:00:12", "00:00:00:13"),  # 0.5 s = frame 12.5 → 12
        ("00:00:12:13", "00:00:12:14", "00:00:12:13", "00:00:12:14"),  # 12.52 s = frame 313
        ("00:00:30:00", "00:00:30:01", "00:00:30:00", "00:00:30:01"),
        ("00:00:36:00", "00:00:36:01", "00:00:36:00", "00:00:36:01"),
    ]
    assert [e[5] for e in events] == ["Blue", "Blue", "Cyan", "Cyan"]  # one colour per label
    assert [e[6] for e in events] == [
        "win celebration (0.70)",
        "win celebration (0.93)",
        "laughing (0.81)",
        "laughing (0.66)",
    ]
    assert [int(e[7]) for e in events] == [63, 137, 100, 88]  # durations in frames at 25 fps


def test_edl_defaults_to_30_fps_for_audio_and_takes_an_fps_override(
    wav_60s: Path, mp4_40s: Path, tmp_path: Path
) -> None:
    one = [Highlight("laughing", 10.0, 12.0, 11.0, 0.5)]
    (path,) = write_exports(wav_analysis(wav_60s, one), tmp_path / "a", ["edl"])
    ((_, tc_in, tc_out, *_, frames),) = EDL_EVENT.findall(path.read_text(encoding="utf-8"))
    assert (tc_in, tc_out, frames) == ("00:00:10:00", "00:00:10:01", "60")

    late = [Highlight("laughing", 36.0, 38.0, 37.0, 0.5)]
    (path,) = write_exports(video_analysis(mp4_40s, late), tmp_path / "b", ["edl"], fps=29.97)
    ((_, tc_in, tc_out, *_, frames),) = EDL_EVENT.findall(path.read_text(encoding="utf-8"))
    # 36 s × 29.97 = frame 1078.92 → 1079, labelled at a 30 NDF timebase: 35 s + 29 frames
    assert (tc_in, tc_out, frames) == ("00:00:35:29", "00:00:36:00", "60")


# --- FCPXML ----------------------------------------------------------------------------------


@pytest.mark.decoder
def test_fcpxml_markers(mp4_40s: Path, tmp_path: Path) -> None:
    (path,) = write_exports(video_analysis(mp4_40s), tmp_path, ["fcpxml"])
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.parse(path).getroot()
    assert root.tag == "fcpxml" and root.get("version") in ("1.9", "1.10")
    fmt = root.find("resources/format")
    asset = root.find("resources/asset")
    assert fmt is not None and asset is not None
    assert fmt.get("frameDuration") == "1/25s"
    assert asset.get("hasVideo") == "1" and asset.get("format") == fmt.get("id")
    rep = asset.find("media-rep")
    assert rep is not None and rep.get("src") == mp4_40s.resolve().as_uri()
    assert from_rational(asset.get("duration", "")) == 40

    (clip,) = root.findall("library/event/project/sequence/spine/asset-clip")
    assert clip.get("ref") == asset.get("id")
    assert from_rational(clip.get("duration", "")) == 40
    assert from_rational(clip.get("offset", "")) == 0 == from_rational(clip.get("start", ""))
    markers = clip.findall("marker")
    got = [
        (from_rational(m.get("start", "")), from_rational(m.get("duration", "")), m.get("value"))
        for m in markers
    ]
    assert got == [
        (Fraction(12, 25), Fraction(63, 25), "win celebration (0.70)"),  # 0.5 s → frame 12
        (Fraction(313, 25), Fraction(137, 25), "win celebration (0.93)"),  # 12.52 s exactly
        (Fraction(30), Fraction(4), "laughing (0.81)"),
        (Fraction(36), Fraction(88, 25), "laughing (0.66)"),
    ]


@pytest.mark.decoder
def test_fcpxml_at_ntsc_rate_snaps_to_frames(mp4_40s: Path, tmp_path: Path) -> None:
    one = [Highlight("laughing", 10.0, 12.0, 11.0, 0.5)]
    (path,) = write_exports(video_analysis(mp4_40s, one), tmp_path, ["fcpxml"], fps=29.97)
    root = ET.parse(path).getroot()
    fmt = root.find("resources/format")
    marker = root.find(".//asset-clip/marker")
    assert fmt is not None and marker is not None
    frame = Fraction(1001, 30000)
    assert fmt.get("frameDuration") == "1001/30000s"
    start = from_rational(marker.get("start", ""))
    duration = from_rational(marker.get("duration", ""))
    assert start == 300 * frame and marker.get("start") == "1001/100s"
    assert duration == 60 * frame
    assert abs(float(start) - 10.0) < float(frame)


def test_audio_only_fcpxml_is_marked_so(wav_60s: Path, tmp_path: Path) -> None:
    (path,) = write_exports(wav_analysis(wav_60s), tmp_path, ["fcpxml"])
    root = ET.parse(path).getroot()
    asset = root.find("resources/asset")
    fmt = root.find("resources/format")
    assert asset is not None and fmt is not None
    assert asset.get("hasVideo") == "0" and fmt.get("frameDuration") == "1/30s"
    assert from_rational(asset.get("duration", "")) == 60


# --- clips -----------------------------------------------------------------------------------


@pytest.mark.decoder
def test_video_clips_are_cut_with_padding(mp4_40s: Path, tmp_path: Path) -> None:
    analysis = video_analysis(mp4_40s)
    calls: list[Progress] = []
    paths = write_exports(analysis, tmp_path, ["json"], clips=True, progress=calls.append)
    clips = tmp_path / "clips"
    assert paths[0] == tmp_path / "highlights.json"
    assert [p.name for p in paths[1:]] == [
        "01-win-celebration-0-00-00.mp4",
        "02-win-celebration-0-00-12.mp4",
        "03-laughing-0-00-30.mp4",
        "04-laughing-0-00-36.mp4",
    ]
    assert sorted(clips.iterdir()) == paths[1:]
    assert [(p.stage, p.fraction, p.message) for p in calls[::5]] == [
        ("export", 0.0, "0/5 files"),
        ("export", 1.0, "5/5 files"),
    ]
    assert [p.message for p in calls] == [f"{i}/5 files" for i in range(6)]
    # padded by 1 s, clamped to [0, 40]
    expected_s = [4.0 - 0.0, 19.0 - 11.52, 35.0 - 29.0, 40.0 - 35.0]
    for clip, want_s in zip(paths[1:], expected_s, strict=True):
        info = probe(clip)
        assert info.has_video and info.fps == pytest.approx(25)
        assert load_audio(clip, SR).size / SR == pytest.approx(want_s, abs=0.1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.decoder
def test_audio_clips_are_m4a_and_replace_an_old_clips_folder(wav_60s: Path, tmp_path: Path) -> None:
    old = tmp_path / "clips"
    old.mkdir()
    (old / "01-stale-0-00-01.m4a").write_bytes(b"old")
    one = [Highlight("Win Celebration!", 20.25, 23.0, 21.0, 0.9)]
    paths = write_exports(wav_analysis(wav_60s, one), tmp_path, [], clips=True, clip_padding_s=0.5)
    assert paths == [old / "01-win-celebration-0-00-20.m4a"]
    assert sorted(old.iterdir()) == paths
    info = probe(paths[0])
    assert info.has_audio and not info.has_video
    assert load_audio(paths[0], SR).size / SR == pytest.approx(3.75, abs=0.1)


# --- all or nothing -------------------------------------------------------------------------


def test_a_failing_writer_leaves_no_files(
    wav_60s: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = tmp_path / "highlights.json"
    previous.write_text('{"old": true}', encoding="utf-8")

    def broken(analysis: Analysis, path: Path) -> list[str]:
        path.write_text("half a file", encoding="utf-8")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(export._WRITERS, "edl", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_exports(wav_analysis(wav_60s), tmp_path, FORMATS, clips=True)
    assert list(tmp_path.iterdir()) == [previous]
    assert previous.read_text(encoding="utf-8") == '{"old": true}'


def test_a_failing_clip_leaves_no_files(tmp_path: Path) -> None:
    broken = tmp_path / "media" / "broken.mp4"
    broken.parent.mkdir()
    broken.write_bytes(b"this is not a video")
    source = Source(broken, "Broken", 60.0, has_video=True, fps=25.0)
    out = tmp_path / "out"
    with pytest.raises(
        ExportError,
        match=r"could not cut the clip 01-win-celebration-0-00-00.mp4 from broken.mp4: .*Invalid data",
    ):
        write_exports(make_analysis(source, HIGHLIGHTS), out, FORMATS, clips=True)
    assert list(out.iterdir()) == []


def test_clips_need_the_media_file(tmp_path: Path) -> None:
    source = Source(tmp_path / "gone.wav", "Gone", 60.0)
    with pytest.raises(ExportError, match="is gone"):
        write_exports(make_analysis(source, HIGHLIGHTS), tmp_path / "out", ["csv"], clips=True)
    assert list((tmp_path / "out").iterdir()) == []
