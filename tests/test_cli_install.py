"""The installed package: ``pip install .`` then ``hypeline`` from any folder, the dashboard too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.apiserver import free_port

REPO = Path(__file__).resolve().parents[1]


def test_every_package_of_the_tree_is_listed_for_the_install() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    tree = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("emotion", "hypeline_cli", "service", "ui")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert listed - {"hypeline_dashboard", "hypeline_dashboard.pages"} == tree


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the built wheel installed (dependencies from this interpreter's site)."""
    root = tmp_path_factory.mktemp("install")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = shutil.copytree(
        REPO,
        root / "src",
        ignore=shutil.ignore_patterns(
            ".git", "build", "*.egg-info", "__pycache__", ".*_cache", ".venv", "hypeline-out"
        ),
    )
    wheels = root / "wheels"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(source),
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(wheels),
    ]
    subprocess.run(build, check=True, capture_output=True, timeout=300, cwd=root)
    env = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True, timeout=120
    )
    (wheel,) = wheels.glob("hypeline-*.whl")
    subprocess.run(
        [
            env / "bin" / "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env


def test_hypeline_answers_from_any_folder(venv: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [venv / "bin" / "hypeline", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for command in ("analyze", "dashboard", "serve", "search", "live"):
        assert f"    {command}" in out.stdout
    where = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import hypeline_cli.dashboard as d, emotion; print(d.entry_file()); print(emotion.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    entry, library = (Path(line) for line in where.stdout.split())
    assert entry.is_relative_to(venv) and library.is_relative_to(venv), where.stdout  # not the repo
    assert entry.parent.name == "hypeline_dashboard"
    assert (entry.parent / "pages" / "analyze.py").is_file()
    config = (entry.parent / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in config and "showSidebarNavigation = false" in config


def test_the_installed_dashboard_starts_from_another_folder(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    cmd = [venv / "bin" / "hypeline", "dashboard", "--headless", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, health = time.monotonic() + 90, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/_stcore/health"
                health = urllib.request.urlopen(url, timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", proc.stdout.read().decode() if proc.poll() is not None else ""
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "<title>" in page  # Streamlit's page shell, served by the installed entry
    finally:
        proc.terminate()
        proc.wait(timeout=30)
