"""`python -m emotion classify|match` as a user runs it: JSON out, one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_clip

REPO = Path(__file__).resolve().parents[1]
SR = 48_000


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HYPELINE_MODEL": str(TINY_CLAP), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "emotion", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def siren(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = make_clip("a siren", 8.0, SR, np.random.default_rng(5))
    stereo = np.stack([clip, clip], axis=1)
    return write_media(
        tmp_path_factory.mktemp("cli") / "siren.ogg",
        stereo,
        SR,
        channels=2,
        audio_args=("-c:a", "libvorbis"),
    )


def test_classify_prints_scores_in_the_given_order(siren: Path) -> None:
    out = run("classify", str(siren), "--labels", "hissing, a siren,  clicking ")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["top_label"] == "a siren"
    assert list(result["scores"]) == ["hissing", "a siren", "clicking"]
    assert sum(result["scores"].values()) == pytest.approx(1, abs=1e-3)


def test_classify_with_verbatim_template(siren: Path) -> None:
    out = run("classify", str(siren), "--labels", "a siren, clicking", "--template", "{}")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["top_label"] == "a siren"


def test_match_prints_similarity(siren: Path) -> None:
    out = run("match", str(siren), "--text", "a siren")
    assert out.returncode == 0, out.stderr
    similarity = json.loads(out.stdout)["similarity"]
    assert 0 < similarity <= 1


@pytest.mark.parametrize(
    ("labels", "message"),
    [("", "No labels given"), ("a, ,b", "blank"), ("a siren, a siren", "given twice")],
)
def test_bad_labels_exit_2_with_one_sentence(siren: Path, labels: str, message: str) -> None:
    out = run("classify", str(siren), "--labels", labels)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    out = run("classify", str(tmp_path / "gone.wav"), "--labels", "a, b")
    assert out.returncode == 2 and "File not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_weights_without_network_exit_2(siren: Path, tmp_path: Path) -> None:
    env = {
        "HYPELINE_MODEL": "",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    out = run(
        "classify", str(siren), "--labels", "a, b", "--model", "laion/clap-htsat-fused", env=env
    )
    assert out.returncode == 2
    assert "laion/clap-htsat-fused" in out.stderr and str(tmp_path / "hf") in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.rstrip().endswith(
        "give the path of a folder that holds them. (--model PATH_OR_ID)"
    )


def test_the_library_names_no_flag_and_the_cli_adds_its_own(siren: Path, tmp_path: Path) -> None:
    from emotion.errors import ModelNotFoundError
    from emotion.model.clap import load_clap

    with pytest.raises(ModelNotFoundError) as caught:
        load_clap(str(tmp_path / "no-such-model"))
    assert "--" not in str(caught.value)
    assert str(caught.value).startswith(f"Model folder not found: {tmp_path / 'no-such-model'};")
    out = run("classify", str(siren), "--labels", "a, b", "--model", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert out.stderr.startswith(f"hypeline: Model folder not found: {tmp_path / 'nope'}; give")
    assert out.stderr.rstrip().endswith("(--model PATH_OR_ID)")
