"""emotion/export/thumbnails.py: a JPEG per highlight at its peak, checked by probing it."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotion import pipeline_export
from emotion.analysis import Analysis
from emotion.errors import ExportError
from emotion.export.ffmpeg_tools import Picture
from emotion.export.thumbnails import THUMBNAILS_DIR, thumbnail_size, write_thumbnails
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.scoring.highlights import Highlight
from hypeline_cli.main import main as cli
from tests.conftest import TINY_CLAP
from tests.media import pattern_video, write_media
from tests.synth import make_vod

SR = 48_000
CLIP_S = 6.0
FFPROBE = shutil.which("ffprobe")
HIGHLIGHTS = [
    Highlight("fail frustration", 3.5, 5.0, 4.2, 0.7),
    Highlight("Win Celebration!", 0.5, 2.5, 1.5, 0.9),
    Highlight("clutch", 4.8, 6.0, 5.9, 0.8),  # its window runs past the end
]
NAMES = [
    "01-win-celebration-0-00-00.jpg",
    "02-fail-frustration-0-00-03.jpg",
    "03-clutch-0-00-04.jpg",
]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    t = np.arange(round(CLIP_S * SR)) / SR
    return {
        "video": pattern_video(folder / "stream night.mp4", "320x180", CLIP_S),
        "audio": write_media(
            folder / "podcast.m4a",
            (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
            SR,
            audio_args=("-c:a", "aac"),
        ),
    }


def probe(path: Path) -> dict:
    """ffprobe's only stream of ``path``."""
    if FFPROBE is None:
        pytest.skip("ffprobe is not installed")
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (stream,) = json.loads(out)["streams"]
    return stream


def test_the_still_is_at_most_1280_wide_with_square_pixels_and_even_sides() -> None:
    assert thumbnail_size(Picture(320, 180, 30.0)) == (320, 180)
    assert thumbnail_size(Picture(1920, 1080, 60.0)) == (1280, 720)
    assert thumbnail_size(Picture(3840, 1600, 60.0)) == (1280, 534)  # 533.3 → even
    assert thumbnail_size(Picture(1080, 1920, 30.0)) == (1080, 1920)  # upright phone video
    assert thumbnail_size(Picture(720, 576, 25.0, sar=16 / 15)) == (768, 576)  # PAL 4:3
    assert thumbnail_size(Picture(1440, 1080, 30.0, sar=4 / 3)) == (1280, 720)  # HDV


@pytest.mark.decoder
def test_one_jpeg_per_highlight_named_like_the_clips_and_a_rerun_keeps_them(
    media: dict[str, Path], tmp_path: Path
) -> None:
    seen: list[str] = []
    made = write_thumbnails(media["video"], HIGHLIGHTS, tmp_path, lambda p: seen.append(p.message))
    folder = tmp_path / THUMBNAILS_DIR
    assert [p.name for p in made.paths] == NAMES and made.notes == []
    assert sorted(p.name for p in folder.iterdir()) == NAMES  # no temporary left behind
    for path in made.paths:
        with path.open("rb") as f:
            assert f.read(3) == b"\xff\xd8\xff"  # a JPEG
        stream = probe(path)
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", 320, 180)
    assert seen[0] == "0/3 thumbnails" and seen[-1] == f"3/3 thumbnails: {NAMES[-1]}"

    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in made.paths}
    (folder / NAMES[1]).unlink()
    seen.clear()
    again = write_thumbnails(media["video"], HIGHLIGHTS, tmp_path, lambda p: seen.append(p.message))
    assert again.paths == made.paths
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in again.paths}
    assert {k: v for k, v in after.items() if k != NAMES[1]} == {
        k: v for k, v in before.items() if k != NAMES[1]
    }  # the two that were there are untouched; only the missing one was made
    assert seen == ["0/1 thumbnails (2 already there)", f"1/1 thumbnails: {NAMES[1]}"]


@pytest.mark.decoder
def test_a_peak_past_the_video_is_a_note_not_a_failure(
    media: dict[str, Path], tmp_path: Path
) -> None:
    late = Highlight("late", 8.0, 9.0, 8.5, 0.6)
    made = write_thumbnails(media["video"], [HIGHLIGHTS[1], late], tmp_path)
    assert [p.name for p in made.paths] == ["01-win-celebration-0-00-00.jpg"]
    assert len(made.notes) == 1 and "no frame near 0:08" in made.notes[0]
    assert sorted(p.name for p in (tmp_path / THUMBNAILS_DIR).iterdir()) == [
        "01-win-celebration-0-00-00.jpg"
    ]


@pytest.mark.decoder
def test_an_audio_only_source_gets_no_thumbnails_and_a_note(
    media: dict[str, Path], tmp_path: Path
) -> None:
    made = write_thumbnails(media["audio"], HIGHLIGHTS, tmp_path)
    assert made.paths == [] and made.notes == ["podcast.m4a has no picture: no thumbnails."]
    assert not (tmp_path / THUMBNAILS_DIR).exists()
    # A video file known to be audio (only cover art) is treated the same, without probing.
    told = write_thumbnails(media["video"], HIGHLIGHTS, tmp_path, has_video=False)
    assert told.paths == [] and "has no picture" in told.notes[0]


def test_a_missing_source_says_so_and_no_highlights_make_nothing(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is gone"):
        write_thumbnails(tmp_path / "gone.mp4", HIGHLIGHTS, tmp_path)
    assert write_thumbnails(tmp_path / "gone.mp4", [], tmp_path).paths == []
    assert not (tmp_path / THUMBNAILS_DIR).exists()


@pytest.mark.decoder
def test_the_pipeline_writes_stills_beside_the_other_exports(
    media: dict[str, Path], tmp_path: Path
) -> None:
    store = Store(tmp_path / "home")
    source = Source(media["video"], "stream night", CLIP_S, has_video=True, fps=30.0)
    analysis = Analysis(
        source,
        "tiny",
        1.0,
        1.0,
        "{}",
        [h.label for h in HIGHLIGHTS],
        [],
        np.zeros(0),
        np.zeros((0, 3)),
        CLIP_S,
        list(HIGHLIGHTS),
    )
    notes: list[str] = []
    written = pipeline_export.export(
        analysis,
        store,
        tmp_path,
        pipeline_export.ExportSettings(formats=("csv",), thumbnails=True),
        on_note=notes.append,
    )
    stills = sorted((tmp_path / THUMBNAILS_DIR).iterdir())
    assert written == [tmp_path / "highlights.csv", *stills] and notes == []
    assert len(stills) == len(HIGHLIGHTS)
    # Without the setting there are none; an audio-only source gets a note instead.
    other = tmp_path / "other"
    pipeline_export.export(analysis, store, other, pipeline_export.ExportSettings(formats=("csv",)))
    assert not (other / THUMBNAILS_DIR).exists()
    audio = dataclasses.replace(analysis, source=Source(media["audio"], "podcast", CLIP_S))
    pipeline_export.export(
        audio,
        store,
        other,
        pipeline_export.ExportSettings(formats=("csv",), thumbnails=True),
        on_note=notes.append,
    )
    assert notes == ["podcast.m4a has no picture: no thumbnails."]
    assert not (other / THUMBNAILS_DIR).exists()


@pytest.mark.decoder
def test_analyze_with_thumbnails_writes_one_per_highlight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audio = make_vod(
        [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0)], 100.0, SR, np.random.default_rng(3)
    )
    vod = write_media(
        tmp_path / "Stream Night.mp4", audio, SR, audio_args=("-c:a", "aac"), video=True
    )
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    code = cli(
        [
            "analyze",
            str(vod),
            "--labels",
            "a whistle, clicking",
            "--background",
            "silence",
            "--formats",
            "json",
            "--thumbnails",
            "--out",
            str(out),
            "--model",
            str(TINY_CLAP),
            "--device",
            "cpu",
            "--precision",
            "fp32",
        ]
    )
    assert code == 0
    doc = json.loads((out / "highlights.json").read_text())
    stills = sorted(p.name for p in (out / THUMBNAILS_DIR).iterdir())
    assert len(stills) == len(doc["highlights"]) == 2
    assert stills[0].startswith("01-clicking-0-00-") and stills[1].startswith("02-a-whistle-0-01-")
    assert (probe(out / THUMBNAILS_DIR / stills[0])["width"], len(stills)) == (64, 2)
    assert "Wrote 3 file(s)" in capsys.readouterr().out
