"""The Search page in a real browser: type a query, see ranked moments, play one.

`streamlit run dashboard.py` over a library of synthetic VODs analysed with the fixture
checkpoint, driven by headless Chromium; saves docs/screenshot-search.png when
HYPELINE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from tests import test_browser as tb
from tests.library import build_library

REPO = Path(__file__).resolve().parents[1]
pytestmark = tb.pytestmark
browser = tb.browser  # the same headless Chromium fixture


def test_search_ranks_moments_and_plays_one(clap, tmp_path: Path, browser) -> None:
    build_library(clap, tmp_path / "home", tmp_path)
    with tb._streamlit(tmp_path) as url:
        try:
            _search(url, browser, tmp_path)
        except AssertionError as e:
            browser.save_screenshot(str(tmp_path / "failure.png"))
            raise AssertionError(
                f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{tb._text(browser)}"
                f"\n--- server log ---\n{tb._tail(tmp_path / 'streamlit.log')}"
            ) from e


def _search(url: str, d, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d.get(url)
    # The model loads in the background and the app is redrawn once it is ready.
    tb.wait_for("the model", lambda: "ready ·" in tb._text(d), 120)

    # Through the navigation, as a visitor goes (and as the frame's first run settles).
    def link():
        links = d.find_elements(By.CSS_SELECTOR, tb.NAV_LINKS)
        return next((e for e in links if e.text.split("\n")[-1] == "Search"), None)

    tb.wait_for("the Search link", link, 60)

    def open_search() -> bool:
        if "Search the library" not in tb._text(d):
            link().click()
            time.sleep(1)
        return "Search the library" in tb._text(d)

    tb.wait_for("the Search page", open_search, 60)
    box = 'input[aria-label="What does the moment sound like?"]'
    tb.wait_for("the query box", lambda: d.find_elements(By.CSS_SELECTOR, box), 60)
    d.find_element(By.CSS_SELECTOR, box).send_keys("a siren", Keys.ENTER)
    tb.wait_for(
        "the query",
        lambda: d.find_element(By.CSS_SELECTOR, box).get_attribute("value") == "a siren",
    )
    time.sleep(1)  # the Enter's rerun
    tb.wait_for("the Search button", lambda: tb._enabled_button(d, "Search")).click()
    moment = r"^(\d+)\. (.+?) · (\d:\d\d:\d\d)–(\d:\d\d:\d\d) · ([\d.-]+)$"

    def ranked() -> list[tuple[str, ...]]:
        text = tb._text(d)
        found = re.findall(moment, text, re.M)
        shown = re.search(r"(\d+) moments for “a siren”", text)
        return found if shown and len(found) == int(shown.group(1)) >= 3 else []

    lines = tb.wait_for("the ranked moments", ranked, 60)
    assert [int(n) for n, *_ in lines] == list(range(1, len(lines) + 1))
    scores = [float(s) for *_, s in lines]
    assert scores == sorted(scores, reverse=True)
    # Both siren events (Monday 0:55–1:10, Friday 0:20–0:35) come first.
    assert {title for _, title, *_ in lines[:2]} == {"Monday Stream", "Friday Stream"}
    play = [b for b in d.find_elements(By.CSS_SELECTOR, "button") if b.text.endswith("Play")]
    assert len(play) == len(lines)
    play[0].click()
    start = lines[0][2]
    tb.wait_for("the player", lambda: d.find_elements(By.CSS_SELECTOR, "audio"))
    tb.wait_for("the player's time", lambda: f"{lines[0][1]} from {start}" in tb._text(d))
    assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')

    time.sleep(2)
    shot = tmp_path / "screenshot-search.png"
    assert d.save_screenshot(str(shot))
    if os.environ.get("HYPELINE_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "screenshot-search.png")
    print(f"screenshot: {shot}")
