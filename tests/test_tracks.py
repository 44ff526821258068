"""Choosing the audio track of an OBS-style recording with several tracks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.errors import SourceError
from emotion.library.store import Store
from emotion.media.audio import ffmpeg_exe, probe
from emotion.media.sources import open_source, source_identity
from tests.conftest import TINY_CLAP
from tests.synth import make_vod

pytestmark = pytest.mark.decoder  # every test here reads media through ffmpeg

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
DURATION_S = 45.0
GAME = ("a siren", 10.0, 20.0)  # track 1, "Game"
MIC = ("a whistle", 25.0, 35.0)  # track 2, "Mic"
LABELS = ["a siren", "a whistle"]
ARGS = ["--labels", "a siren, a whistle", "--background", "silence", "--formats", "json"]


def two_track_recording(folder: Path, default_track: int = 1) -> Path:
    """A video with two audio tracks holding different events, as OBS records them."""
    inputs = []
    for i, event in enumerate([GAME, MIC]):
        raw = folder / f"track{i + 1}.f32"
        make_vod([event], DURATION_S, SR, np.random.default_rng(40 + i)).tofile(raw)
        inputs += ["-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", str(raw)]
    out = folder / "obs recording.mkv"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s=64x64:r=25:d={DURATION_S}",
            *inputs,
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-map",
            "2:a",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-metadata:s:a:0",
            "title=Game",
            "-metadata:s:a:1",
            "title=Mic",
            "-metadata:s:a:1",
            "language=eng",
            f"-disposition:a:{default_track - 1}",
            "default",
            f"-disposition:a:{2 - default_track}",
            "0",
            str(out),
        ],
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_track_recording(tmp_path_factory.mktemp("obs"))


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "emotion", "analyze", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_probe_lists_the_tracks_with_their_names(recording: Path) -> None:
    info = probe(recording)
    assert [(t.number, t.codec, t.title, t.language) for t in info.audio_tracks] == [
        (1, "opus", "Game", None),
        (2, "opus", "Mic", "eng"),
    ]
    assert [t.channels for t in info.audio_tracks] == ["mono", "mono"]
    assert info.default_track == 1


def test_list_tracks_prints_them_and_writes_nothing(recording: Path, tmp_path: Path) -> None:
    out = cli(str(recording), "--list-tracks", home=tmp_path / "home")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "obs recording: 2 audio track(s)",
        '  1: opus, mono, 48000 Hz, "Game", default',
        '  2: opus, mono, 48000 Hz, eng, "Mic"',
    ]
    assert not (tmp_path / "home" / "library.sqlite").exists()


def test_each_track_is_its_own_analysis_and_rescores(recording: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    found = {}
    for track in (None, 2):
        pick = ["--audio-track", str(track)] if track else []
        out = cli(str(recording), *ARGS, *pick, "--out", str(tmp_path / f"t{track}"), home=home)
        assert out.returncode == 0, out.stderr
        doc = json.loads((tmp_path / f"t{track}" / "highlights.json").read_text())
        assert doc["source"]["audio_track"] == (track or 1)
        found[track] = [(h["label"], h["start_s"], h["end_s"]) for h in doc["highlights"]]
    for track, (label, start_s, end_s) in ((None, GAME), (2, MIC)):
        ((got, got_start_s, got_end_s),) = found[track]
        assert got == label and abs(got_start_s - start_s) <= 5 and abs(got_end_s - end_s) <= 5
    assert "audio track 2" in out.stdout  # the summary says which track it heard

    vectors = sorted((home / "embeddings").glob("*.f32"))
    assert len(vectors) == 2
    mtimes = [p.stat().st_mtime_ns for p in vectors]
    again = cli(
        str(recording),
        *ARGS,
        "--audio-track",
        "2",
        "--threshold",
        "0.9",
        "--out",
        str(tmp_path / "again"),
        home=home,
    )
    assert again.returncode == 0, again.stderr
    assert [p.stat().st_mtime_ns for p in vectors] == mtimes  # re-scored, nothing embedded
    doc = json.loads((tmp_path / "again" / "highlights.json").read_text())
    assert [h["label"] for h in doc["highlights"]] == ["a whistle"]


def test_the_containers_default_track_is_the_default(tmp_path: Path, clap) -> None:
    path = two_track_recording(tmp_path, default_track=2)
    source = open_source(str(path))
    assert source.default_track == 2
    store = Store(tmp_path / "home")
    record = embed_source(clap, store, source, source_identity(source))
    assert record.audio_track == 2
    analysis = score(record, store.vectors(record), clap, LABELS, ["silence"])
    assert [h.label for h in analysis.highlights] == ["a whistle"]
    # Naming the default track explicitly is the same analysis, not a second one.
    again = embed_source(clap, store, source, source_identity(source), audio_track=2)
    assert again.id == record.id and len(store.analyses()) == 1


def test_a_track_that_is_not_there_is_one_sentence(recording: Path, tmp_path: Path) -> None:
    out = cli(
        str(recording),
        *ARGS,
        "--audio-track",
        "3",
        "--out",
        str(tmp_path / "o"),
        home=tmp_path / "home",
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == (
        "hypeline: obs recording has no audio track 3; its tracks are 1: opus, mono, "
        '48000 Hz, "Game", default; 2: opus, mono, 48000 Hz, eng, "Mic".'
    )
    assert not (tmp_path / "o").exists()
    with pytest.raises(SourceError, match="numbered from 1"):
        open_source(str(recording)).check_track(0)
