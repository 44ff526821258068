"""`python -m emotion analyze` as a streamer runs it: exports, bad input, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.media.audio import ffmpeg_exe
from tests.conftest import TINY_CLAP
from tests.httpserver import closed_port
from tests.media import tone, write_media
from tests.running import n_done
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
EVENTS = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0)]
ARGS = ["--labels", "a whistle, clicking", "--background", "silence"]


def analyze(*args: str, home: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "emotion", "analyze", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def vod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio = make_vod(EVENTS, 100.0, SR, np.random.default_rng(3))
    folder = tmp_path_factory.mktemp("vod")
    return write_media(
        folder / "Stream Night.mp4", audio, SR, audio_args=("-c:a", "aac"), video=True
    )


@pytest.mark.decoder
def test_analyze_writes_every_export_and_a_summary(vod: Path, tmp_path: Path) -> None:
    out = analyze(str(vod), *ARGS, home=tmp_path / "home", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = vod.parent / "hypeline-out" / "stream-night"  # beside the VOD, not in the cwd
    assert not (tmp_path / "hypeline-out").exists()
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "highlights.json",
        "highlights.csv",
        "highlights.srt",
        "chapters.txt",
        "highlights.edl",
        "highlights.fcpxml",
    }
    doc = json.loads((folder / "highlights.json").read_text())
    assert doc["source"]["title"] == "Stream Night"
    # As decoded: AAC priming/padding moves it by a few ms, differently in each ffmpeg build.
    assert doc["source"]["duration_s"] == pytest.approx(100.0, abs=0.1)
    assert doc["labels"] == ["a whistle", "clicking"] and doc["background"] == ["silence"]
    found = {h["label"]: (h["start_s"], h["end_s"]) for h in doc["highlights"]}
    assert set(found) == {"a whistle", "clicking"}
    for label, start_s, end_s in EVENTS:
        assert abs(found[label][0] - start_s) <= 5 and abs(found[label][1] - end_s) <= 5
    assert len(doc["timeline"]["start_s"]) == 19
    assert "Stream Night (1:40): 2 highlight(s)" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.decoder
def test_per_prompt_thresholds_and_the_relative_scale_are_exported_by_name(
    vod: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    out = analyze(
        str(vod),
        *ARGS,
        "--threshold",
        "0.5, a whistle=0.999",
        "--out",
        str(tmp_path / "a"),
        home=home,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "a" / "highlights.json").read_text())
    assert (doc["scale"], doc["threshold"], doc["thresholds"]) == (
        "absolute",
        0.5,
        {"a whistle": 0.999},
    )
    assert [h["label"] for h in doc["highlights"]] == ["clicking"]  # the whistle's bar is too high
    (clicks,) = doc["highlights"]
    assert clicks["why"].startswith(f"clicking {clicks['score']:.2f} (×")
    assert clicks["relative"] > 4.0 and 0 <= clicks["usual"] < 0.5
    out = analyze(str(vod), *ARGS, "--scale", "relative", "--out", str(tmp_path / "b"), home=home)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "b" / "highlights.json").read_text())
    assert (doc["scale"], doc["threshold"], doc["thresholds"]) == ("relative", 4.0, {})
    found = {h["label"]: (h["start_s"], h["end_s"]) for h in doc["highlights"]}
    assert set(found) == {"a whistle", "clicking"}  # quiet bed: the same two events
    for label, start_s, end_s in EVENTS:
        assert abs(found[label][0] - start_s) <= 5 and abs(found[label][1] - end_s) <= 5


def test_reanalysis_with_other_labels_rescores_without_decoding(vod: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert analyze(str(vod), *ARGS, "--out", str(tmp_path / "a"), home=home).returncode == 0
    mtime = (home / "embeddings" / "1.f32").stat().st_mtime_ns
    out = analyze(
        str(vod),
        "--labels",
        "a whistle",
        "--background",
        "silence, clicking",
        "--threshold",
        "0.7",
        "--formats",
        "json",
        "--out",
        str(tmp_path / "b"),
        home=home,
    )
    assert out.returncode == 0, out.stderr
    assert (home / "embeddings" / "1.f32").stat().st_mtime_ns == mtime  # nothing appended
    doc = json.loads((tmp_path / "b" / "highlights.json").read_text())
    assert [h["label"] for h in doc["highlights"]] == ["a whistle"]


def test_kill_9_then_rerun_resumes_to_identical_json(tmp_path: Path) -> None:
    audio = make_vod(EVENTS, 600.0, SR, np.random.default_rng(4))
    path = write_media(tmp_path / "long.flac", audio, SR)
    args = [str(path), *ARGS, "--batch-size", "2", "--formats", "json"]
    reference = analyze(*args, "--out", str(tmp_path / "ref"), home=tmp_path / "ref-home")
    assert reference.returncode == 0, reference.stderr

    home = tmp_path / "home"
    env = {**os.environ, "HYPELINE_MODEL": str(TINY_CLAP), "HYPELINE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "emotion", "analyze", *args, "--out", str(tmp_path / "killed")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done = 0
    deadline = time.monotonic() + 120
    while done < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        done = sum(n_done(home).values())  # 0 while the library is being created
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < done < 119, "the run should be killed mid-way"
    assert not (tmp_path / "killed").exists()  # no half-written exports

    resumed = analyze(*args, "--out", str(tmp_path / "resumed"), home=home)
    assert resumed.returncode == 0, resumed.stderr
    expected = json.loads((tmp_path / "ref" / "highlights.json").read_text())
    got = json.loads((tmp_path / "resumed" / "highlights.json").read_text())
    expected["source"].pop("path"), got["source"].pop("path")
    assert got == expected


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    text = tmp / "notes.mp4"
    text.write_text("not a video\n" * 100)
    truncated = write_media(
        tmp / "cut.mp4", tone(440, 20, SR), SR, audio_args=("-c:a", "aac"), video=True
    )
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    silent = tmp / "silent.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=25:d=2",
            "-c:v",
            "libx264",
            str(silent),
        ],
        check=True,
    )
    empty = write_media(tmp / "empty.wav", np.zeros(0, np.float32), SR)
    ok = write_media(tmp / "ok.wav", tone(440, 3, SR), SR)
    return {
        "missing file": ([str(tmp / "gone.mp4"), *ARGS], "File not found"),
        "text named .mp4": ([str(text), *ARGS], "not a media file ffmpeg can read"),
        "truncated media": ([str(truncated), *ARGS], "cut.mp4"),
        "video without audio": ([str(silent), *ARGS], "has no audio track"),
        "zero-length audio": ([str(empty), *ARGS], "no audio samples"),
        "file:// URL": (["file:///etc/passwd", *ARGS], "Only http(s) links"),
        "unreachable URL": (
            [f"http://127.0.0.1:{closed_port()}/vod.mp4", *ARGS],
            "Could not reach",
        ),
        "empty labels": ([str(ok), "--labels", " "], "No labels given"),
        "blank label": ([str(ok), "--labels", "a,,b"], "blank"),
        "duplicate label": ([str(ok), "--labels", "a, A"], "given twice"),
        "unknown format": ([str(ok), *ARGS, "--formats", "json,pdf"], "Unknown export format"),
        "label too long for the text tower": (
            [str(ok), "--labels", "a whistle, " + "very " * 150 + "loud cheering"],
            "is too long for this model (",
        ),
        "more than 200 labels": (
            [str(ok), "--labels", ", ".join(f"sound {i}" for i in range(201))],
            "at most 200 can be scored",
        ),
        "labels equal but for case and spacing": (
            [str(ok), "--labels", "crowd  cheering, Crowd cheering"],
            "given twice",
        ),
        "control character in a label": (
            [str(ok), "--labels", "a \x1b[31mwhistle"],
            "contains a control character",
        ),
        "template without {}": ([str(ok), *ARGS, "--template", "a sound"], "exactly once"),
        "template with two {}": ([str(ok), *ARGS, "--template", "{} and {}"], "exactly once"),
        "audio track that is not there": (
            [str(ok), *ARGS, "--audio-track", "2"],
            "no audio track 2",
        ),
        "no labels at all": ([str(ok)], "--labels"),
        "threshold for an unknown prompt": (
            [str(ok), *ARGS, "--threshold", "a wistle=0.4"],
            'No prompt is called "a wistle"',
        ),
        "threshold out of 0-1": (
            [str(ok), *ARGS, "--threshold", "clicking=1.5"],
            "between 0 and 1",
        ),
        "threshold not a number": (
            [str(ok), *ARGS, "--threshold", "loud"],
            '"loud" is not a threshold',
        ),
    }


# The cases whose sentence comes from what ffmpeg makes of the file.
DECODED = [
    "text named .mp4",
    "truncated media",
    "video without audio",
    "zero-length audio",
    "audio track that is not there",
]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.decoder) if c in DECODED else c
        for c in [
            "missing file",
            "text named .mp4",
            "truncated media",
            "video without audio",
            "zero-length audio",
            "file:// URL",
            "unreachable URL",
            "empty labels",
            "blank label",
            "duplicate label",
            "unknown format",
            "label too long for the text tower",
            "more than 200 labels",
            "labels equal but for case and spacing",
            "control character in a label",
            "template without {}",
            "template with two {}",
            "audio track that is not there",
            "no labels at all",
            "threshold for an unknown prompt",
            "threshold out of 0-1",
            "threshold not a number",
        ]
    ],
)
def test_bad_input_is_one_sentence_and_no_files(case: str, tmp_path: Path) -> None:
    args, message = bad_inputs(tmp_path)[case]
    out_dir = tmp_path / "out"
    result = analyze(*args, "--out", str(out_dir), home=tmp_path / "home")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert not out_dir.exists()


@pytest.mark.decoder
def test_nan_and_inf_samples_are_silence_counted_in_the_summary(tmp_path: Path) -> None:
    audio = make_vod(EVENTS, 80.0, SR, np.random.default_rng(6))
    audio[5 * SR : 7 * SR] = np.nan  # a float WAV damaged by a crashed recorder
    audio[40 * SR] = np.inf
    path = tmp_path / "damaged.wav"
    write_media(path, audio, SR, audio_args=("-c:a", "pcm_f32le"))
    out = analyze(str(path), *ARGS, "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert out.returncode == 0, out.stderr
    assert "Note: 2.00 s of the audio decoded as invalid numbers (NaN/Inf)" in out.stdout
    doc = json.loads((tmp_path / "out" / "highlights.json").read_text())
    assert doc["nonfinite_audio_s"] == pytest.approx(2.0, abs=0.001)
    assert sorted(h["label"] for h in doc["highlights"]) == ["a whistle", "clicking"]


@pytest.mark.decoder
def test_chat_auto_on_a_link_without_chat_is_a_note_and_sound_alone(
    vod: Path, tmp_path: Path
) -> None:
    from tests.httpserver import serve_folder

    with serve_folder(vod.parent) as server:
        link = server.url("Stream%20Night.mp4")
        done = analyze(
            link,
            *ARGS,
            "--chat",
            "auto",
            "--formats",
            "json",
            "--out",
            str(tmp_path / "out"),
            home=tmp_path / "home",
        )
    assert done.returncode == 0, done.stderr
    assert f"note: {link} offers no chat replay" in done.stderr
    doc = json.loads((tmp_path / "out" / "highlights.json").read_text())
    assert "chat" not in doc
    assert [
        (h["label"], round(h["start_s"])) for h in doc["highlights"] if h["label"] == "a whistle"
    ] == [("a whistle", 65)]


def test_chat_auto_on_a_file_says_to_give_its_chat_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from emotion.pipeline import Settings
    from emotion.scoring.prompts import Prompts
    from hypeline_cli.analyze_options import AUTO, chat_for

    settings = Settings(Prompts.parse(["a whistle"]))
    assert chat_for(settings, AUTO, "stream.mp4") is settings
    assert chat_for(settings, None, "https://example.com/v") is settings  # no fetch at all
    assert "for stream.mp4 give its chat file: --chat FILE" in capsys.readouterr().err
