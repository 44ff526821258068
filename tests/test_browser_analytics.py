"""The Analytics page in headless Chromium against `streamlit run`, over a small library.

The prompts are loaded from a prompt pack through the sidebar's uploader; the page's
charts render, and "Learn from my picks" shows leave-one-out precision before → after.

Saves a screenshot in the test's tmp dir (and docs/screenshot-analytics.png when
HYPELINE_SCREENSHOT is set).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from emotion.scoring.packs import Pack, save_pack
from tests.test_browser import (  # noqa: F401
    NAV_LINKS,
    REPO,
    _streamlit,
    _tail,
    _text,
    browser,
    pytestmark,
    wait_for,
)
from tests.test_dashboard_analytics import build_library


def test_analytics_page_in_the_browser(clap, browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    build_library(clap, tmp_path / "home", tmp_path)
    d = browser

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    def sidebar_values() -> list[str]:
        inputs = css('[data-testid="stSidebar"] input')
        return [v for e in inputs if (v := e.get_attribute("value")) and "/" not in v]

    with _streamlit(tmp_path) as url:
        try:
            d.get(url)
            # The model loads in the background; the app is redrawn once it is ready.
            wait_for("the model", lambda: "ready ·" in _text(d), timeout_s=120)
            # The prompts come from a prompt pack, through the sidebar's uploader.
            pack = save_pack(
                Pack(["a tone"], ["silence", "clicking"], name="tones"), tmp_path / "tones.json"
            )
            uploader = '[data-testid="stSidebar"] input[type="file"]'
            wait_for("the pack uploader", lambda: css(uploader))[0].send_keys(str(pack))
            wait_for(
                "the pack's prompts",
                lambda: "a tone" in sidebar_values() and "laughter" not in sidebar_values(),
            )
            link = wait_for(
                "the Analytics link",
                lambda: [a for a in css(NAV_LINKS) if a.text.split("\n")[-1] == "Analytics"],
            )
            link[0].click()
            wait_for("three charts", lambda: len(css(".js-plotly-plot")) == 3, timeout_s=60)
            wait_for(
                "the heatmap",
                lambda: css(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image"),
            )
            wait_for("the mood bars", lambda: css(".js-plotly-plot .barlayer path"))
            body = _text(d)
            assert "Best of" in body and "Save as prompt pack" in body
            assert not css('[data-testid="stException"]'), body
            assert "stream-2026-03-01" in d.page_source

            toggle = wait_for(
                "the switch",
                lambda: [
                    e
                    for e in css('[data-testid="stCheckbox"] label, label')
                    if "Learn from my picks" in e.text
                ],
            )
            toggle[0].click()
            wait_for(
                "the precision table",
                lambda: "learned" in _text(d) or "leave-one-out precision 0.00 → 1.00" in _text(d),
                timeout_s=60,
            )
            assert not css('[data-testid="stException"]'), _text(d)
            time.sleep(2)
            d.set_window_size(1400, 1700)
            time.sleep(2)
            shot = tmp_path / "screenshot-analytics.png"
            assert d.save_screenshot(str(shot))
            if os.environ.get("HYPELINE_SCREENSHOT"):
                shutil.copyfile(shot, REPO / "docs" / "screenshot-analytics.png")
            print(f"screenshot: {shot}")
        except AssertionError as e:
            d.save_screenshot(str(tmp_path / "failure.png"))
            raise AssertionError(
                f"{e}\n--- page ---\n{_text(d)}\n--- server log ---\n"
                f"{_tail(tmp_path / 'streamlit.log')}"
            ) from e
