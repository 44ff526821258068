"""The Live page in headless Chromium against `streamlit run`, on a loopback HLS stream.

Start a monitor from the page, see an alert appear in the feed, reload the tab and find
the monitor still running, stop it. Saves docs/screenshot-live.png when
HYPELINE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from tests.hls import LiveHls
from tests.media import write_media
from tests.synth import make_vod
from tests.test_browser import (  # noqa: F401 - fixtures
    REPO,
    _enabled_button,
    _tail,
    _text,
    browser,
    pytestmark,
    server,
    set_prompts,
    wait_for,
)  # fmt: skip

SR = 48_000


def test_a_live_monitor_in_the_browser(server: str, browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    audio = make_vod([("clicking", 6.0, 16.0), ("a whistle", 28.0, 38.0)], 60.0, SR,
                     np.random.default_rng(11))  # fmt: skip
    media = write_media(tmp_path / "stream.wav", audio, SR)
    d = browser
    d.get(server)
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
            wait_for("the Start button", lambda: _enabled_button(d, "Start")).click()
            wait_for("the monitor", lambda: "connected" in _text(d), timeout_s=60)
            wait_for("an alert", lambda: "clicking at 0:" in _text(d), timeout_s=60)

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
            assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        except AssertionError as e:
            d.save_screenshot(str(tmp_path / "failure.png"))
            raise AssertionError(
                f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{_text(d)}\n"
                f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
            ) from e


def _nav(d, text: str):
    from selenium.webdriver.common.by import By

    from tests.test_browser import NAV_LINKS

    for e in d.find_elements(By.CSS_SELECTOR, NAV_LINKS):
        if e.text.split("\n")[-1] == text:
            return e
    return None
