"""The Live page in headless Chromium against `streamlit run`, on a loopback HLS stream.

Start a monitor from the page with its Twitch chat (a loopback IRC server), see the chat
state and an alert with chat's answer appear, reload the tab and find the monitor still
running, stop it. Saves docs/screenshot-live.png (and docs/screenshot-live-chat.png: the chat form, the
panel and its alert) when HYPELINE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.hls import LiveHls
from tests.ircserver import IrcServer
from tests.media import write_media
from tests.synth import make_vod
from tests.test_browser import (  # noqa: F401 - fixtures
    REPO,
    _enabled_button,
    _streamlit,
    _tail,
    _text,
    browser,
    pytestmark,
    set_prompts,
    wait_for,
)

SR = 48_000
CHANNEL = "hypechannel"
SHOW_BELOW_HEADER = """
let e = arguments[0]; e.scrollIntoView({block: 'start'});
let p = e.parentElement; while (p && p.scrollHeight <= p.clientHeight) p = p.parentElement;
if (p) p.scrollTop -= 80;
"""  # the page's header covers the top 60 px


@pytest.fixture
def irc(monkeypatch) -> Iterator[IrcServer]:
    """A loopback Twitch chat, and the dashboard's server pointed at it (HYPELINE_TWITCH_IRC)."""
    with IrcServer() as chat:
        monkeypatch.setenv("HYPELINE_TWITCH_IRC", chat.address)
        yield chat


@pytest.fixture
def server(irc: IrcServer, tmp_path: Path) -> Iterator[str]:  # test_browser's, with the chat
    with _streamlit(tmp_path) as url:
        yield url


def _chat_room(irc: IrcServer, done: threading.Event) -> None:
    """From the monitor's JOIN on, a message every half second (an alert's answer to show)."""
    irc.wait_for_join(CHANNEL, timeout_s=120)
    k = 0
    while not done.wait(0.5):
        irc.say(CHANNEL, "no way" if k % 3 == 0 else "KEKW KEKW", author=f"fan{k % 7}")
        k += 1


def test_a_live_monitor_in_the_browser(
    irc: IrcServer,
    server: str,
    browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    audio = make_vod(
        [("clicking", 6.0, 16.0), ("a whistle", 28.0, 38.0)], 60.0, SR, np.random.default_rng(11)
    )
    media = write_media(tmp_path / "stream.wav", audio, SR)
    d = browser
    d.get(server)
    done = threading.Event()
    chatting = threading.Thread(target=_chat_room, args=(irc, done), daemon=True)
    chatting.start()
    with LiveHls(tmp_path, media, start=False) as live:
        try:
            set_prompts(d, ["clicking", "a whistle"], ["silence"])
            wait_for("the Live page link", lambda: _nav(d, "Live")).click()
            box = 'input[aria-label="Live stream link or file path"]'
            field = wait_for("the link box", lambda: d.find_elements(By.CSS_SELECTOR, box))[0]
            live.produce()
            live.wait_for_segments(1)
            field.send_keys(live.url, Keys.ENTER)
            time.sleep(1)
            wait_for("the chat switch", lambda: _chat_switch(d)).click()
            channel = wait_for(
                "the channel box",
                lambda: d.find_elements(By.CSS_SELECTOR, 'input[aria-label="Channel"]'),
            )[0]
            channel.send_keys(CHANNEL, Keys.ENTER)
            lag = d.find_element(By.CSS_SELECTOR, 'input[aria-label="Chat lag (s)"]')
            lag.send_keys(Keys.CONTROL, "a")
            lag.send_keys("2", Keys.ENTER)  # chat's answer 2–12 s after: the alert at +12 s
            time.sleep(1)
            wait_for("the Start button", lambda: _enabled_button(d, "Start")).click()
            wait_for("the monitor", lambda: "connected" in _text(d), timeout_s=60)
            wait_for("the chat", lambda: " connected · " in _chat_line(d), timeout_s=30)
            wait_for(
                "an alert with chat's answer",
                lambda: "clicking at 0:" in _text(d) and "messages, KEKW" in _text(d),
                timeout_s=60,
            )

            # the chat form and the monitor's panel down to its alert, in one view, once the
            # alert's toast has gone
            d.execute_script(
                SHOW_BELOW_HEADER, wait_for("the chat switch", lambda: _chat_switch(d))
            )
            if os.environ.get("HYPELINE_SCREENSHOT"):
                time.sleep(4.5)
            shot = tmp_path / "screenshot-live-chat.png"
            assert d.save_screenshot(str(shot))
            if os.environ.get("HYPELINE_SCREENSHOT"):
                shutil.copyfile(shot, REPO / "docs" / "screenshot-live-chat.png")

            d.refresh()  # the monitor lives in the server, not in the tab
            wait_for("the Live page again", lambda: "Live monitor" in _text(d), timeout_s=60)
            wait_for("the running monitor", lambda: "connected" in _text(d), timeout_s=30)
            wait_for("the alert feed", lambda: "clicking at 0:" in _text(d), timeout_s=30)
            time.sleep(4)  # a few more points on the rolling timeline
            shot = tmp_path / "screenshot-live.png"
            assert d.save_screenshot(str(shot))
            if os.environ.get("HYPELINE_SCREENSHOT"):
                shutil.copyfile(shot, REPO / "docs" / "screenshot-live.png")
            wait_for("Stop", lambda: _enabled_button(d, "Stop")).click()
            wait_for("the stopped monitor", lambda: "stopped" in _text(d), timeout_s=60)
            assert " closed · " in _chat_line(d) and " messages read" in _chat_line(d)
            assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        except AssertionError as e:
            d.save_screenshot(str(tmp_path / "failure.png"))
            raise AssertionError(
                f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{_text(d)}\n"
                f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
            ) from e
        finally:
            done.set()
            chatting.join(timeout=10)


def _chat_switch(d):
    from selenium.webdriver.common.by import By

    labels = d.find_elements(By.CSS_SELECTOR, '[data-testid="stCheckbox"] label')
    return next((e for e in labels if e.text.startswith("Twitch chat")), None)


def _chat_line(d) -> str:
    """The panel's chat state: "#channel chat · connected · 12 messages read · …"."""
    return next((t for t in _text(d).splitlines() if f"#{CHANNEL} chat · " in t), "")


def _nav(d, text: str):
    from selenium.webdriver.common.by import By

    from tests.test_browser import NAV_LINKS

    for e in d.find_elements(By.CSS_SELECTOR, NAV_LINKS):
        if e.text.split("\n")[-1] == text:
            return e
    return None
