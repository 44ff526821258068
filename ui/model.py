"""The CLAP model for the dashboard: loaded once per process and name, failures included."""

from __future__ import annotations

import streamlit as st

from emotion.errors import HypelineError
from emotion.model.clap import Clap, load_clap


@st.cache_resource(show_spinner=False, max_entries=3)
def _load(name: str) -> Clap | str:
    # A failure is cached too (as its message): missing weights would otherwise cost a
    # hub probe on every rerun. "Retry" clears it.
    try:
        return load_clap(name)
    except HypelineError as e:
        return str(e)


def get(name: str) -> Clap | None:
    """The loaded model, or None when it cannot be loaded (see ``error``)."""
    result = _load(name)
    return result if isinstance(result, Clap) else None


def error(name: str) -> str | None:
    """Why ``name`` cannot be loaded: one sentence with the fix; None when it is ready."""
    result = _load(name)
    return result if isinstance(result, str) else None


def retry(name: str) -> None:
    _load.clear(name)
