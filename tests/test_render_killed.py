"""A render killed with SIGKILL mid-way leaves no half file under a final name; the next
run sweeps the hidden temporary it left and renders only the missing shorts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emotion import atomic
from emotion.analysis import embed_source
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from hypeline_cli.main import main
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from tests.test_cli_analyze_posts import size

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
EVENTS = [("a whistle", 5.0, 10.0), ("a whistle", 30.0, 35.0), ("a whistle", 55.0, 60.0)]
ARGS = [
    "--labels",
    "a whistle, clicking",
    "--background",
    "silence",
    "--device",
    "cpu",
    "--short-max",
    "4",
]
DEADLINE_S = 60


@pytest.fixture
def analysed(clap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A 65 s video VOD with three whistles (three highlights), analysed into a fresh $HYPELINE_HOME; its id."""
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    audio = make_vod(EVENTS, 65.0, SR, np.random.default_rng(11))
    path = write_media(
        tmp_path / "Three Whistles.mp4", audio, SR, video=True, audio_args=("-c:a", "aac")
    )
    source = open_source(path)
    return embed_source(clap, Store(), source, source_identity(source)).id


def finals(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if atomic.final_of(p) is None)


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if atomic.final_of(p) is not None)


@pytest.mark.slow  # a CLI in a subprocess (torch's import) and five shorts rendered: ~10 s
@pytest.mark.decoder
def test_a_killed_render_leaves_no_half_short_and_the_next_run_makes_only_the_rest(
    analysed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shorts = out / "shorts"
    cmd = [sys.executable, "-m", "emotion", "shorts", str(analysed), *ARGS, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        # Killed once the first short is whole and the second is being written.
        while not (
            shorts.is_dir()
            and any(n.startswith("01-") for n in finals(shorts))
            and any((atomic.final_of(p) or "").startswith("02-") for p in temporaries(shorts))
        ):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the render never reached its second short"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # the CLI alone: its ffmpeg is orphaned, as with kill -9
        assert proc.wait(timeout=10) == -signal.SIGKILL
        (first,) = finals(shorts)  # no half short under a final name
        assert first.startswith("01-a-whistle-") and size(shorts / first) == (1080, 1920)
        left = temporaries(shorts)  # at most the hidden temporary of the one being rendered
        assert left and all(p.name.startswith(".02-") for p in left)
    finally:
        with_orphans_gone(proc)
    made = (shorts / first).stat()

    code = main(["shorts", str(analysed), *ARGS, "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    names = finals(shorts)
    assert [n[:3] for n in names] == ["01-", "02-", "03-"]
    assert temporaries(shorts) == []  # the killed run's temporary was swept
    kept = (shorts / first).stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert all(size(shorts / n) == (1080, 1920) for n in names)


def with_orphans_gone(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the render's process group (its orphaned ffmpeg) and wait."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.05)
