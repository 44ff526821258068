from __future__ import annotations

import os
from pathlib import Path

import pytest

# The suite checks the reference numbers (fp32) everywhere a model loads with "auto": in
# this process, the dashboard under AppTest, and the CLI/API/streamlit processes it starts.
# The int8 CPU path is checked against them in test_precision.py.
os.environ.setdefault("HYPELINE_PRECISION", "fp32")

FIXTURES = Path(__file__).parent / "fixtures"
TINY_CLAP = FIXTURES / "tiny-clap"
CLASSES = ["a whistle", "a siren", "a low hum", "clicking", "hissing", "rumbling", "silence"]


@pytest.fixture(autouse=True)
def _dashboard_model_loaded(request: pytest.FixtureRequest) -> None:
    """The dashboard loads its model on a thread (ui/model.py) and says "loading…" until
    then; a module that drives it with AppTest has the fixture model loaded first, so its
    runs see it ready, as a visitor does once it has loaded."""
    if hasattr(request.module, "AppTest"):
        from ui import model

        assert model.start(str(TINY_CLAP)).wait(120), "the fixture model did not load"


@pytest.fixture(scope="session")
def clap():
    """The committed tiny CLAP checkpoint, loaded once (CPU, fp32: the reference numbers)."""
    from emotion.model.clap import load_clap

    return load_clap(str(TINY_CLAP), device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def classifier(clap):
    from emotion.classify import Classifier

    return Classifier(clap)


def pytest_report_header() -> str:
    """Which ffmpeg decodes in this run: results must hold for every build."""
    import subprocess

    from emotion.media.audio import ffmpeg_exe

    exe = ffmpeg_exe()
    version = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout
    return f"ffmpeg: {exe} ({version.splitlines()[0] if version else 'unknown version'})"
