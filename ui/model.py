"""The CLAP model for the dashboard: loaded once per process and name, in the background.

Importing torch and transformers and reading the weights takes seconds (tens on a busy
machine), so the first view never waits for it: the load runs on a thread from the first
time a name is asked for, the frame and the sidebar only look at how far it is
(``known``) and poll until it is done (``rerun_when_loaded``: the app is drawn again
then, with what depends on the model), and a page that needs the model waits for it
(``get``, ``error``) while saying so. Such a wait writes to the page every half second,
and Streamlit stops a script at its next write when the visitor clicks, so even then
nothing is blocked.
A failure is kept too (as its sentence): missing weights would otherwise cost a hub probe
on every rerun. "Retry" forgets it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import streamlit as st

from emotion.errors import HypelineError

if TYPE_CHECKING:  # the model module imports torch (seconds): only the loader thread does
    from emotion.model.clap import Clap

POLL_S = 0.5


class _Load:
    """One name's load, on its own thread; ``result`` is the model or why it failed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started_s = time.monotonic()
        self.result: Clap | str | None = None
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True, name="hypeline-model-load").start()

    def _run(self) -> None:
        try:  # torch and transformers import here, on this thread (seconds), not the page's
            from emotion.model.clap import load_clap

            self.result = load_clap(self.name)
        except HypelineError as e:
            self.result = str(e)
        except Exception as e:  # a broken install or checkpoint: said, never a traceback
            self.result = (
                f"The model {self.name} could not be loaded ({e}); check the folder or the install."
            )
        finally:
            self.done.set()


@st.cache_resource(show_spinner=False, max_entries=3)
def _load(name: str) -> _Load:
    return _Load(name)


def start(name: str) -> threading.Event:
    """Start loading ``name`` (once per process); the event is set when it has finished."""
    return _load(name).done


def known(name: str) -> bool:
    """Whether the load of ``name`` has finished (ready or failed); starts it if need be."""
    return start(name).is_set()


def rerun_when_loaded(name: str) -> None:
    """While ``name`` loads, look every half second; once it has finished, draw the app
    again (the sidebar's badge, the prompt checks, or why it failed)."""

    @st.fragment(run_every=POLL_S)
    def poll() -> None:
        if known(name):
            st.rerun(scope="app")
        took_s = time.monotonic() - _load(name).started_s
        st.caption(f"Loading the model… {took_s:.0f} s; the pages that need it wait for it.")

    poll()


def wait(name: str, note: st.delta_generator.DeltaGenerator | None = None) -> None:
    """Until the load of ``name`` has finished, saying so (in ``note``, else here)."""
    load = _load(name)
    if load.done.is_set():
        return
    note = note if note is not None else st.empty()
    while not load.done.wait(POLL_S):
        took_s = time.monotonic() - load.started_s
        note.caption(f":material/hourglass_top: Loading the model {name}… {took_s:.0f} s")
    note.empty()


def get(name: str, *, block: bool = True) -> Clap | None:
    """The loaded model, or None when it cannot be loaded (see ``error``) or, with
    ``block=False``, is still loading."""
    if block:
        wait(name)
    result = _load(name).result
    return None if result is None or isinstance(result, str) else result


def error(name: str, *, block: bool = True) -> str | None:
    """Why ``name`` cannot be loaded: one sentence with the fix; None when it is ready (or,
    with ``block=False``, still loading)."""
    if block:
        wait(name)
    result = _load(name).result
    return result if isinstance(result, str) else None


def retry(name: str) -> None:
    _load.clear(name)
