"""emotion/export/shorts.py: vertical shorts, checked by probing what was written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotion.errors import ExportError, ShortsError
from emotion.export import ffmpeg_tools, shorts
from emotion.export.post_settings import ShortSettings
from emotion.export.shorts import write_shorts
from emotion.export.spans import quiet_edges, short_span
from emotion.media.audio import ffmpeg_exe
from emotion.media.sources import open_source
from emotion.scoring.highlights import Highlight
from tests.media import pattern_video, write_media

SR = 48_000
CLIP_S = 4.0
TOLERANCE_S = 0.15  # builds differ in how they end a stream (Debian's 5.1, the wheel's)
FFPROBE = shutil.which("ffprobe")


def make_video(path: Path, size: str, amplitude: float = 0.5, extra: tuple[str, ...] = ()) -> Path:
    """A moving test pattern with a 440 Hz tone, ``CLIP_S`` long."""
    return pattern_video(path, size, CLIP_S, amplitude=amplitude, extra=extra)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    t = np.arange(round(CLIP_S * SR)) / SR
    return {
        "wide": make_video(folder / "wide.mp4", "640x360"),
        "four_three": make_video(folder / "four three.mp4", "480x360"),
        "vertical": make_video(folder / "vertical.mp4", "360x640"),
        "quiet": make_video(folder / "quiet.mp4", "320x180", amplitude=0.03),
        "audio": write_media(
            folder / "podcast.m4a",
            (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
            SR,
            audio_args=("-c:a", "aac"),
        ),
    }


def probe(path: Path) -> dict:
    """ffprobe's streams and format of ``path``."""
    if FFPROBE is None:
        pytest.skip("ffprobe is not installed")
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def assert_short(path: Path, duration_s: float) -> dict:
    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["width"], video["height"]) == (1080, 1920)
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    assert float(info["format"]["duration"]) == pytest.approx(duration_s, abs=TOLERANCE_S)
    return video


def integrated_lufs(path: Path) -> float:
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-nostats",
            "-i",
            str(path),
            "-map",
            "0:a",
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    found = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    assert found is not None
    return float(found.group(1))


def first_frame_mean(path: Path) -> float:
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-ss",
            "1",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            "scale=108:192",
            "-pix_fmt",
            "gray",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return float(np.frombuffer(raw, np.uint8).mean())


MOMENT = Highlight("crowd cheering", 1.0, 2.5, 1.8, 0.9)  # 1.5 s: widened to 3 s


# -------------------------------------------------------------------- pure arithmetic


def test_a_short_highlight_is_widened_around_its_centre_within_the_source() -> None:
    assert short_span(MOMENT, 10.0, 60.0) == pytest.approx((0.25, 3.25))
    early = Highlight("x", 0.0, 1.0, 0.5, 0.9)
    assert short_span(early, 10.0, 60.0) == pytest.approx((0.0, 3.0))
    late = Highlight("x", 9.5, 10.0, 9.7, 0.9)
    assert short_span(late, 10.0, 60.0) == pytest.approx((7.0, 10.0))


def test_a_long_highlight_is_cut_to_max_s_around_its_peak() -> None:
    long = Highlight("x", 100.0, 300.0, 280.0, 0.9)
    assert short_span(long, 1000.0, 60.0) == pytest.approx((240.0, 300.0))
    assert short_span(long, 1000.0, 180.0) == pytest.approx((120.0, 300.0))


@pytest.mark.decoder
def test_edges_move_to_a_quiet_point_near_them(tmp_path: Path) -> None:
    t = np.arange(10 * SR) / SR
    loud = 0.5 * np.sin(2 * np.pi * 440 * t)
    loud[int(3.0 * SR) : int(3.4 * SR)] = 0.0  # a pause 0.6 s before the highlight's start
    loud[int(8.0 * SR) : int(8.3 * SR)] = 0.0  # and one 1.0 s after its end
    path = write_media(tmp_path / "speech.wav", loud.astype(np.float32), SR)
    start_s, end_s = quiet_edges(path, 1, 4.0, 7.0, 10.0, 60.0)
    assert 3.0 <= start_s <= 3.4 and 8.0 <= end_s <= 8.3
    flat = write_media(tmp_path / "flat.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype("f4"), SR)
    assert quiet_edges(flat, 1, 4.0, 7.0, 10.0, 60.0) == (4.0, 7.0)  # nothing quieter: stays


# ------------------------------------------------------------------------ rendering


@pytest.mark.decoder
@pytest.mark.parametrize(
    "settings",
    [
        ShortSettings(),
        ShortSettings(layout="crop", crop_x=0.0, title="{label} at {time}"),
        ShortSettings(layout="split", facecam=(440, 0, 200, 120)),
    ],
    ids=["blur", "crop", "split"],
)
def test_each_layout_makes_a_vertical_h264_short(
    media: dict[str, Path], tmp_path: Path, settings: ShortSettings
) -> None:
    source = open_source(media["wide"])
    [path] = write_shorts(source, [MOMENT], tmp_path, settings)
    assert path == tmp_path / "shorts" / "01-crowd-cheering-0-00-01.mp4"
    video = assert_short(path, 3.0)
    assert video["r_frame_rate"] == "30/1"
    assert integrated_lufs(path) == pytest.approx(-14.0, abs=1.0)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


@pytest.mark.decoder
@pytest.mark.parametrize("name", ["four_three", "vertical"])
def test_other_shapes_fill_the_frame(media: dict[str, Path], tmp_path: Path, name: str) -> None:
    source = open_source(media[name])
    [blur] = write_shorts(source, [MOMENT], tmp_path / "blur")
    [crop] = write_shorts(source, [MOMENT], tmp_path / "crop", ShortSettings(layout="crop"))
    assert_short(blur, 3.0)
    assert_short(crop, 3.0)


@pytest.mark.decoder
def test_a_quiet_source_is_brought_to_minus_14_lufs_and_capped_at_max_s(
    media: dict[str, Path], tmp_path: Path
) -> None:
    whole = Highlight("laughter", 0.0, CLIP_S, 2.0, 0.8)
    [path] = write_shorts(open_source(media["quiet"]), [whole], tmp_path, ShortSettings(max_s=3))
    assert_short(path, 3.0)
    assert integrated_lufs(path) == pytest.approx(-14.0, abs=1.0)


@pytest.mark.decoder
def test_an_audio_only_source_gets_its_waveform(media: dict[str, Path], tmp_path: Path) -> None:
    source = open_source(media["audio"])
    assert not source.has_video
    [path] = write_shorts(source, [MOMENT], tmp_path)
    assert_short(path, 3.0)
    assert first_frame_mean(path) > 20  # the waveform and the title over the dark ground
    assert integrated_lufs(path) == pytest.approx(-14.0, abs=1.0)
    with pytest.raises(ShortsError, match="blur layout") as refused:
        write_shorts(source, [MOMENT], tmp_path / "crop", ShortSettings(layout="crop"))
    assert refused.value.setting == "layout"


# ------------------------------------------------------------------- runs and refusals


@pytest.mark.decoder
def test_a_second_run_makes_only_the_missing_shorts(
    media: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = open_source(media["wide"])
    moments = [MOMENT, Highlight("laughter", 2.0, 3.5, 3.0, 0.7)]
    first = write_shorts(source, moments, tmp_path, ShortSettings(title=""))
    assert [p.name for p in first] == ["01-crowd-cheering-0-00-01.mp4", "02-laughter-0-00-02.mp4"]
    first[1].unlink()
    rendered: list[str] = []
    real = shorts.render
    monkeypatch.setattr(shorts, "render", lambda *a: rendered.append(a[1].out.name) or real(*a))
    again = write_shorts(source, moments, tmp_path, ShortSettings(title=""))
    assert again == first and rendered == ["02-laughter-0-00-02.mp4"]
    assert_short(again[1], 3.0)


@pytest.mark.decoder
def test_a_failed_render_leaves_no_file(media: dict[str, Path], tmp_path: Path) -> None:
    if (
        "h264_videotoolbox"
        in subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True
        ).stdout
    ):
        pytest.skip("this ffmpeg has VideoToolbox; the failure needs an encoder it lacks")
    settings = ShortSettings(encoder="h264_videotoolbox")
    with pytest.raises(ExportError, match="could not render"):
        write_shorts(open_source(media["wide"]), [MOMENT], tmp_path, settings)
    assert list((tmp_path / "shorts").iterdir()) == []


@pytest.mark.parametrize(
    ("settings", "setting", "words"),
    [
        (ShortSettings(layout="split"), "facecam", "needs the face cam"),
        (ShortSettings(max_s=2), "max_s", "3 to 180 s"),
        (ShortSettings(max_s=181), "max_s", "3 to 180 s"),
        (ShortSettings(layout="tall"), "layout", "no short layout"),
        (ShortSettings(crop_x=1.5), "crop_x", "0 \\(left\\) to 1"),
        (ShortSettings(title="{game}"), "title", "only use {label} and {time}"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(
    settings: ShortSettings, setting: str, words: str
) -> None:
    with pytest.raises(ShortsError, match=words) as refused:
        settings.check()
    assert refused.value.setting == setting


@pytest.mark.decoder
def test_a_facecam_outside_the_frame_and_no_highlights_are_refused(
    media: dict[str, Path], tmp_path: Path
) -> None:
    source = open_source(media["wide"])
    outside = ShortSettings(layout="split", facecam=(500, 0, 200, 100))
    with pytest.raises(ShortsError, match="outside the 640×360 video"):
        write_shorts(source, [MOMENT], tmp_path, outside)
    with pytest.raises(ShortsError, match="no highlights"):
        write_shorts(source, [], tmp_path)
    assert not (tmp_path / "shorts").exists() or not list((tmp_path / "shorts").iterdir())


@pytest.mark.decoder
def test_a_rotated_video_is_measured_upright(media: dict[str, Path], tmp_path: Path) -> None:
    # A phone's portrait video: landscape frames with a display matrix. Builds write one
    # differently: 5.1 from the stream's rotate tag, 7.x and later from -display_rotation.
    out = tmp_path / "phone.mp4"
    for before, after in ((), ("-metadata:s:v:0", "rotate=90")), (("-display_rotation", "90"), ()):
        cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "quiet",
            "-y",
            *before,
            "-i",
            str(media["wide"]),
            "-c",
            "copy",
            *after,
            str(out),
        ]
        if subprocess.run(cmd, check=False).returncode == 0:
            picture = ffmpeg_tools.probe_picture(out)
            if picture is not None and (picture.width, picture.height) == (360, 640):
                break
    else:
        pytest.fail("neither way of writing a rotation worked with this ffmpeg")
    [short] = write_shorts(open_source(out), [MOMENT], tmp_path, ShortSettings(layout="crop"))
    assert_short(short, 3.0)


def test_the_encoder_is_probed_once() -> None:
    first = ffmpeg_tools.pick_encoder()
    assert first in ffmpeg_tools.ENCODER_OPTIONS
    assert ffmpeg_tools._pick_encoder.cache_info().currsize >= 1
    assert ffmpeg_tools.pick_encoder() == first
