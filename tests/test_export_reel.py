"""emotion/export/reel.py: the highlight reel, checked by probing what was written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.errors import ReelError, ShortsError
from emotion.export.post_settings import ReelSettings, parse_length_s
from emotion.export.reel import write_reel
from emotion.export.reel_plan import CROSSFADE_S, MAX_PART_S, place, plan_reel, reel_chapters
from emotion.scoring.highlights import Highlight
from tests.media import pattern_video, write_media
from tests.test_export_shorts import integrated_lufs, probe

SR = 48_000
VOD_S = 80.0
TOLERANCE_S = 0.1  # per join: builds differ in how they end a stream


@pytest.fixture(scope="module")
def vod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 80 s 320×180 test pattern (10 fps: cheap) with a quiet 440 Hz tone."""
    path = tmp_path_factory.mktemp("reel") / "Stream Night.mp4"
    # amplitude 1/16: about -27 LUFS, so the reel has to be brought up to -14
    return pattern_video(path, "320x180", VOD_S, fps=10, amplitude=0.0625)


def moment(label: str, start_s: float, end_s: float, score: float, peak_s: float | None = None):
    peak = (start_s + end_s) / 2 if peak_s is None else peak_s
    return Highlight(label, start_s, end_s, peak, score)


def streams(path: Path) -> tuple[dict, dict, float]:
    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    return video, audio, float(info["format"]["duration"])


def chapter_starts(path: Path) -> list[int]:
    starts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m, s = line.split(" ", 1)[0].split(":")
        starts.append(int(m) * 60 + int(s))
    return starts


# -------------------------------------------------------------------- the plan (no media)


def test_moments_are_picked_by_score_one_per_spacing_then_put_in_vod_order() -> None:
    found = [
        moment("a", 95, 105, 0.6),
        moment("b", 245, 255, 0.9),
        moment("c", 495, 505, 0.5),
        moment("d", 695, 705, 0.8),
        moment("e", 995, 1005, 0.7),
    ]
    parts = plan_reel(found, 2000.0, ReelSettings())  # 300 s: a and c are too near b
    assert [p.highlight.label for p in parts] == ["b", "d", "e"]
    assert [p.reel_start_s for p in parts] == pytest.approx([0.0, 9.5, 19.0])
    assert [p.highlight.label for p in plan_reel(found, 2000.0, ReelSettings(spacing_s=0))] == [
        "a",
        "b",
        "c",
        "d",
        "e",
    ]


def test_the_reel_is_filled_to_its_length_and_a_long_moment_is_cut_around_its_peak() -> None:
    found = [moment("long", 100, 400, 0.9, peak_s=390), moment("next", 1000, 1012, 0.8)]
    [only] = plan_reel(found[:1], 2000.0, ReelSettings())
    assert (only.start_s, only.end_s) == pytest.approx((400 - MAX_PART_S, 400))
    parts = plan_reel(found, 2000.0, ReelSettings(length_s=40))
    assert [p.duration_s for p in parts] == pytest.approx([MAX_PART_S, 40 - MAX_PART_S + 0.5])
    assert sum(p.duration_s for p in parts) - CROSSFADE_S == pytest.approx(40.0)


def test_chapters_are_refused_when_youtube_would_ignore_them() -> None:
    two = place([plan_reel([moment("a", 0, 20, 0.9)], 100.0, ReelSettings())[0]] * 2)
    assert "needs 3 chapters" in str(reel_chapters(two, 39.5)[1])
    short = place(
        plan_reel(
            [moment(x, i * 20, i * 20 + 4, 0.9) for i, x in enumerate("abc")],
            100.0,
            ReelSettings(spacing_s=0),
        )
    )
    lines, refusal = reel_chapters(short, 11.0)
    assert lines[0] == "0:00 a (0:00)" and "shorter than YouTube's 10 s" in str(refusal)


@pytest.mark.parametrize(
    ("text", "seconds"), [("3m", 180), ("180", 180), ("2m30s", 150), ("90s", 90), ("2:30", 150)]
)
def test_lengths_are_read_in_seconds_or_minutes(text: str, seconds: float) -> None:
    assert parse_length_s(text) == seconds


def test_bad_lengths_and_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(ReelError, match="e.g. 180, 3m or 2m30s"):
        parse_length_s("3 minutes")
    with pytest.raises(ReelError, match="3 s to 60 minutes") as refused:
        ReelSettings(length_s=1).check()
    assert refused.value.setting == "length_s"
    with pytest.raises(ReelError, match="0 s or more") as refused:
        ReelSettings(spacing_s=-1).check()
    assert refused.value.setting == "spacing_s"


# ------------------------------------------------------------------------ rendering


@pytest.mark.decoder
def test_a_reel_crossfades_the_best_moments_at_minus_14_lufs(vod: Path, tmp_path: Path) -> None:
    found = [
        moment("laughter", 5, 17, 0.9),
        moment("cheering", 30, 42, 0.8),
        moment("rage", 55, 67, 0.7),
        moment("rage again", 66, 70, 0.6),  # 8 s from rage's peak: spacing skips it
    ]
    result = write_reel(vod, found, tmp_path, ReelSettings(spacing_s=20))
    assert [p.highlight.label for p in result.parts] == ["laughter", "cheering", "rage"]
    assert result.path == tmp_path / "reel.mp4"
    video, _, duration_s = streams(result.path)
    assert (video["width"], video["height"]) == (320, 180)
    expected_s = sum(p.duration_s for p in result.parts) - CROSSFADE_S * 2
    assert result.duration_s == pytest.approx(expected_s)
    assert duration_s == pytest.approx(expected_s, abs=TOLERANCE_S * 2)
    assert integrated_lufs(result.path) == pytest.approx(-14.0, abs=1.0)

    assert result.chapters == tmp_path / "reel-chapters.txt"
    starts = chapter_starts(result.chapters)
    assert starts[0] == 0 and len(starts) == 3 and starts == sorted(starts)
    assert all(b - a >= 10 for a, b in zip(starts, [*starts[1:], int(duration_s)], strict=True))
    assert result.chapters.read_text(encoding="utf-8").splitlines()[1].endswith("cheering (0:30)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel-chapters.txt", "reel.mp4"]


@pytest.mark.decoder
def test_an_audio_only_reel_shows_the_waveform_and_skips_invalid_chapters(
    tmp_path: Path,
) -> None:
    t = np.arange(20 * SR) / SR
    podcast = write_media(
        tmp_path / "podcast.m4a",
        (0.3 * np.sin(2 * np.pi * 330 * t)).astype("f4"),
        SR,
        audio_args=("-c:a", "aac"),
    )
    (tmp_path / "out").mkdir()
    stale = tmp_path / "out" / "reel-chapters.txt"
    stale.write_text("0:00 an earlier reel\n", encoding="utf-8")
    found = [moment("a", 2, 5, 0.9), moment("b", 9, 12, 0.8), moment("c", 15, 18, 0.7)]
    result = write_reel(podcast, found, tmp_path / "out", ReelSettings(spacing_s=5))
    video, _, duration_s = streams(result.path)
    assert (video["width"], video["height"]) == (1920, 1080)
    assert duration_s == pytest.approx(9.0 - 2 * CROSSFADE_S, abs=TOLERANCE_S * 2)
    assert result.chapters is None and not stale.exists()
    assert any("reel-chapters.txt was not written" in n and "10 s" in n for n in result.notes)


def test_no_highlights_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ShortsError, match="no highlights to make a reel of; lower the threshold"):
        write_reel(tmp_path / "vod.mp4", [], tmp_path / "out")
    assert not (tmp_path / "out").exists()
