"""`python -m emotion analyze VOD --shorts --reel`: the posts straight from an analysis."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from emotion.export.ffmpeg_tools import probe_picture
from emotion.export.reel import frame_size
from tests import test_cli_analyze as cli_analyze
from tests.test_cli_analyze import ARGS, analyze

vod = cli_analyze.vod  # the analyze tests' 100 s synthetic VOD (with video)


def size(path: Path) -> tuple[int, int]:
    """The video's width and height, by ffprobe where there is one."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        picture = probe_picture(path)
        assert picture is not None, path
        return picture.width, picture.height
    info = json.loads(
        subprocess.run(
            [
                ffprobe,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    stream = info["streams"][0]
    return stream["width"], stream["height"]


@pytest.mark.decoder
def test_analyze_shorts_and_reel_post_every_exported_highlight(vod: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = analyze(
        str(vod),
        *ARGS,
        "--out",
        str(out),
        "--formats",
        "json",
        "--shorts",
        "--reel",
        "--short-max",
        "10",
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    highlights = json.loads((out / "highlights.json").read_text())["highlights"]
    shorts = sorted((out / "shorts").iterdir())
    assert highlights and len(shorts) == len(highlights)
    assert all(p.suffix == ".mp4" and size(p) == (1080, 1920) for p in shorts)
    picture = probe_picture(vod)
    assert size(out / "reel.mp4") == frame_size(picture) == (114, 64)  # 16:9 around 64×64
    files = 1 + len(shorts) + 1 + (out / "reel-chapters.txt").exists()
    assert f"Wrote {files} file(s) to {out}/" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--shorts", "--layout", "split"], "needs the face cam's rectangle"),
        (["--facecam", "0,0,32,32"], "--facecam shapes the shorts, which only --shorts makes"),
        (["--reel-length", "1m"], "--reel-length shapes the reel, which only --reel makes"),
    ],
)
def test_shorts_settings_are_refused_before_the_vod_is_opened(
    flags: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"  # the VOD is not there: its error would come first if it were read
    done = analyze(
        str(tmp_path / "gone.mp4"), *ARGS, *flags, "--out", str(out), home=tmp_path / "home"
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert not out.exists() and not (tmp_path / "home").exists()
