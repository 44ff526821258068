"""`python -m emotion shorts ID` on an analysis in the library."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source
from emotion.library.records import Trim
from emotion.library.store import Store
from emotion.media.audio import probe
from emotion.media.sources import open_source, source_identity
from emotion.pipeline import Settings, moments
from emotion.scoring.prompts import Prompts
from hypeline_cli.main import main
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
EVENTS = [("a whistle", 10.0, 17.0)]
ARGS = ["--labels", "a whistle, clicking", "--background", "silence", "--device", "cpu"]


@pytest.fixture
def analysed(clap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A 30 s video VOD with one whistle, analysed into a fresh $HYPELINE_HOME; its id."""
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    audio = make_vod(EVENTS, 30.0, SR, np.random.default_rng(7))
    path = write_media(
        tmp_path / "Stream Night.mp4", audio, SR, video=True, audio_args=("-c:a", "aac")
    )
    source = open_source(path)
    return embed_source(clap, Store(), source, source_identity(source)).id


@pytest.mark.decoder
def test_shorts_writes_the_highlights_as_vertical_clips(
    analysed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["shorts", str(analysed), *ARGS, "--out", str(out), "--short-max", "4"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    written = [Path(line) for line in stdout.splitlines()]
    assert written and all(p.parent == out / "shorts" and p.is_file() for p in written)
    assert any(p.name.startswith("01-a-whistle-0-00-") for p in written)
    ffprobe = shutil.which("ffprobe")
    if ffprobe is not None:
        info = json.loads(
            subprocess.run(
                [
                    ffprobe,
                    "-v",
                    "error",
                    "-show_streams",
                    "-show_format",
                    "-of",
                    "json",
                    str(written[0]),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (1080, 1920)
        assert 3.0 - 0.15 <= float(info["format"]["duration"]) <= 4.0 + 0.15


def test_shorts_refusals_name_the_flag(analysed: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shorts", str(analysed), *ARGS, "--layout", "split"]) == 2
    assert "(--facecam X,Y,W,H)" in capsys.readouterr().err
    assert main(["shorts", "999", *ARGS]) == 2
    assert "no analysis 999" in capsys.readouterr().err


@pytest.mark.decoder
def test_shorts_reel_with_no_shorts_writes_only_the_reel(
    analysed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "shorts",
            str(analysed),
            *ARGS,
            "--out",
            str(out),
            "--reel",
            "--no-shorts",
            "--reel-length",
            "1m",
            "--reel-spacing",
            "5s",
        ]
    )
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert [Path(line) for line in stdout.splitlines()][:1] == [out / "reel.mp4"]
    assert (out / "reel.mp4").stat().st_size > 0 and not (out / "shorts").exists()
    assert re.search(r"Stream Night: a 0:\d\d reel of \d+ moment\(s\)", stderr)


def test_reel_refusals_name_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shorts", "1", *ARGS, "--no-shorts"]) == 2
    assert "add --reel" in capsys.readouterr().err
    assert main(["shorts", "1", *ARGS, "--reel-length", "2s"]) == 2
    assert "(--reel-length L)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["shorts", "1", *ARGS, "--reel-length", "three minutes"])
    assert "e.g. 180, 3m or 2m30s" in capsys.readouterr().err


@pytest.mark.decoder
def test_a_trim_changes_the_short(
    analysed: int, clap, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The whistle's short, found at 0:10-ish, then with its start moved 5 s earlier (into
    # the quiet bed, so the quiet-edge search keeps it there): named and cut from the trim.
    store = Store()
    settings = Settings(Prompts.parse("a whistle, clicking", "silence"))
    (h,) = [
        h
        for h in moments(store.analysis(analysed), store, clap, settings).highlights
        if h.label == "a whistle"
    ]
    shorts = {}
    for name, shift_s in (("found", 0.0), ("trimmed", -5.0)):
        store.set_trim(analysed, h.label, h.start_s, Trim(shift_s, 0.0), h.end_s)
        out = tmp_path / name
        assert main(["shorts", str(analysed), *ARGS, "--out", str(out)]) == 0
        (short,) = [Path(p) for p in capsys.readouterr().out.splitlines() if "whistle" in p]
        shorts[name] = short
    assert shorts["found"].name != shorts["trimmed"].name  # named by the trimmed start
    found_s, trimmed_s = (probe(shorts[n]).duration_s for n in ("found", "trimmed"))
    assert trimmed_s - found_s == pytest.approx(5.0, abs=1.5), (found_s, trimmed_s)
