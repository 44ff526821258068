"""Helpers for tests with several callers of one library: CLI processes, their progress."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TINY_CLAP

REPO = Path(__file__).resolve().parents[1]


def start_analyze(*args: str, home: Path, log: Path) -> subprocess.Popen[bytes]:
    """``python -m emotion analyze ARGS`` in the background, stdout and stderr to ``log``.*."""
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    with open(f"{log}.out", "wb") as out, open(f"{log}.err", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "emotion", "analyze", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
        )


def n_done(home: Path) -> dict[int, int]:
    """``analysis id → windows stored`` in the library at ``home`` (empty before it exists)."""
    if not (home / "library.sqlite").exists():
        return {}
    with (
        contextlib.closing(sqlite3.connect(home / "library.sqlite")) as db,
        contextlib.suppress(sqlite3.OperationalError),  # the schema is not created yet
    ):
        return dict(db.execute("SELECT id, n_done FROM analyses").fetchall())
    return {}


def wait_for_a_holder(home: Path, timeout_s: float = 60) -> int:
    """Wait until a run has stored a batch of the one analysis in ``home``; its count."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (done := sum(n_done(home).values())) > 0:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no run stored a batch within {timeout_s:.0f} s")
