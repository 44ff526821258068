"""Sign-in before any page: Streamlit's own ``st.login`` when an OIDC provider is set up
(an ``[auth]`` table in secrets.toml), else the ``[hypeline]`` password.

The password is compared in constant time. Wrong guesses are counted per visitor address
in the server process, not in the session: a session is one browser tab and starts afresh
on every reload, so counting there would cost a guesser nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable

import streamlit as st

from ui.shared import Config

MAX_FAILURES = 5  # in a row, from one address
PAUSE_S = 60.0  # then no more tries from there for this long


class Lockout:
    """Wrong passwords per visitor: after ``max_failures`` in a row, a pause of ``pause_s``."""

    def __init__(
        self, max_failures: int, pause_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.pause_s = pause_s
        self.clock = clock
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_s(self, who: str) -> float:
        """Seconds before ``who`` may try again (0: now)."""
        with self._lock:
            return max(0.0, self._until.get(who, 0.0) - self.clock())

    def failed(self, who: str) -> float:
        """Count a wrong password; the pause it starts, if it was one too many (else 0)."""
        with self._lock:
            n = self._failures.get(who, 0) + 1
            if n < self.max_failures:
                self._failures[who] = n
                return 0.0
            self._failures[who] = 0  # after the pause, another run of tries
            self._until[who] = self.clock() + self.pause_s
            return self.pause_s

    def succeeded(self, who: str) -> None:
        with self._lock:
            self._failures.pop(who, None)
            self._until.pop(who, None)


@st.cache_resource(show_spinner=False)
def lockout() -> Lockout:
    """The server's one ``Lockout`` (``lockout.clear()`` starts a new one)."""
    return Lockout(MAX_FAILURES, PAUSE_S)


def matches(given: str, password: str) -> bool:
    """Whether ``given`` is ``password``, in time that does not depend on where they differ."""
    # Digests first: compare_digest's time still depends on the lengths.
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(password.encode()).digest()
    )


def gate(config: Config) -> None:
    """Stop the run here until the visitor has signed in, when a sign-in is configured."""
    if config.oidc:
        if not st.user.is_logged_in:
            st.title("Hypeline")
            st.caption("This dashboard is shared by a team: log in to use it.")
            st.button("Log in", key="login", on_click=st.login, type="primary")
            st.stop()
    elif config.password is not None and not st.session_state.get("signed_in"):
        st.title("Hypeline")
        _password_form(config.password)
        st.stop()


def require_frame() -> None:
    """Send a run that reached a page without dashboard.py through it (and its sign-in).

    Until some run of a fresh server process has called ``st.navigation``, Streamlit routes
    with its legacy ``pages/`` router, which runs a page asked for by its address
    (``/analyze``) alone: no frame, so no sign-in. Every page calls this first.
    """
    if "settings" not in st.session_state:  # only the frame draws it, after sign-in
        st.switch_page("dashboard.py")


def account(config: Config) -> None:
    """Who is signed in, and the way out (in the sidebar)."""
    if config.oidc and st.user.is_logged_in:
        st.sidebar.button(
            f"Log out {st.user.get('email') or ''}".strip(), key="logout", on_click=st.logout
        )
    elif config.password is not None and not config.oidc:
        st.sidebar.button("Sign out", key="sign_out", on_click=_sign_out)


def _password_form(password: str) -> None:
    ip = st.context.ip_address
    who = ip if isinstance(ip, str) and ip else "unknown"  # behind a proxy: one count for all
    with st.form("sign_in", clear_on_submit=True):
        given = st.text_input("Password", type="password", key="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    locks = lockout()
    if (wait_s := locks.wait_s(who)) > 0:
        st.error(f"Too many wrong passwords; wait {math.ceil(wait_s)} s, then try again.")
    elif matches(given, password):
        locks.succeeded(who)
        st.session_state.signed_in = True
        st.rerun()
    elif (wait_s := locks.failed(who)) > 0:
        st.error(
            f"Wrong password, {MAX_FAILURES} times in a row; wait {math.ceil(wait_s)} s, then try again."
        )
    else:
        st.error("Wrong password; try again.")


def _sign_out() -> None:
    st.session_state.signed_in = False
