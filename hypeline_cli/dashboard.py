"""``hypeline dashboard``: the Streamlit dashboard, as ``streamlit run dashboard.py`` starts it.

The frame (``dashboard.py``), its ``pages/`` and its ``.streamlit/config.toml`` sit at
the repository's root; an install carries them as the package ``hypeline_dashboard``
(``pyproject.toml``), so the command works from any folder. Streamlit reads the
config file beside the entry file, whatever the current folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

from emotion.errors import HypelineError

ENTRY = "dashboard.py"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dashboard",
        help="the dashboard in the browser (streamlit run dashboard.py)",
        description="Start the Streamlit dashboard on this computer (127.0.0.1) and open it "
        "in the browser.",
    )
    parser.add_argument("--port", type=int, help="port to listen on (default 8501)")
    parser.add_argument(
        "--address",
        help="address to listen on (default 127.0.0.1; for a team, see the README's "
        "'Running it for a team')",
    )
    parser.add_argument("--headless", action="store_true", help="do not open a browser")
    parser.set_defaults(func=run)


def entry_file() -> Path:
    """``dashboard.py`` of this checkout, else of the installed ``hypeline_dashboard``."""
    beside = Path(__file__).resolve().parents[1] / ENTRY
    if beside.is_file():
        return beside
    spec = importlib.util.find_spec("hypeline_dashboard")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / ENTRY).is_file():
            return Path(folder) / ENTRY
    raise HypelineError(
        "The dashboard's files are missing from this install; reinstall Hypeline "
        "(pip install .) from its repository."
    )


def command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry_file())]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    if args.address is not None:
        cmd += ["--server.address", args.address]
    if args.headless:
        cmd += ["--server.headless", "true"]
    return cmd


def run(args: argparse.Namespace) -> int:
    try:
        return subprocess.call(command(args))
    except KeyboardInterrupt:
        return 0  # Ctrl+C is how a dashboard is stopped
