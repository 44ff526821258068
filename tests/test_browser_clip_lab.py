"""Clip Lab in a real browser: `streamlit run dashboard.py` driven by headless Chromium.

Opens the dashboard, goes to Clip Lab by its menu, uploads a clip of a sound the fixture
checkpoint knows, and checks the bars, the spectrogram and a text match; the screenshot goes to docs/screenshot-clip-lab.png when
HYPELINE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from tests.media import write_media
from tests.synth import make_clip
from tests.test_browser import (
    NAV_LINKS,
    REPO,
    SR,
    _tail,
    _text,
    browser,  # noqa: F401  (a fixture)
    pytestmark,  # noqa: F401  (browser, slow, skipped without chromium)
    server,  # noqa: F401  (a fixture)
    set_prompts,
    wait_for,
)


def test_a_clip_in_the_clip_lab(server: str, browser, tmp_path: Path) -> None:  # noqa: F811
    try:
        _clip_lab(server, browser, tmp_path)
    except AssertionError as e:
        browser.save_screenshot(str(tmp_path / "failure.png"))
        raise AssertionError(
            f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{_text(browser)}\n"
            f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
        ) from e


def _clip_lab(url: str, d, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    clip = make_clip("a whistle", 6.0, SR, np.random.default_rng(21))
    path = write_media(tmp_path / "whistle.wav", clip, SR)
    d.get(url)
    set_prompts(d, ["a whistle", "clicking", "a siren"], ["silence"])
    menu = {e.text.split("\n")[-1]: e for e in css(NAV_LINKS)}
    assert next(iter(menu)) == "Analyze" and "Clip Lab" in menu, list(menu)
    menu["Clip Lab"].click()
    clip_input = '[data-testid="stMain"] input[type="file"]'  # not the sidebar's pack loader
    wait_for("the Clip Lab", lambda: "Drop a clip" in _text(d) and css(clip_input), 60)
    assert d.current_url.endswith("/clip-lab")
    assert "a siren" in [e.get_attribute("value") for e in css('[data-testid="stSidebar"] input')]

    css(clip_input)[0].send_keys(str(path))
    wait_for("the bars", lambda: len(css(".js-plotly-plot .barlayer .point")) == 4, 90)
    body = _text(d)
    assert "best: a whistle" in body, body
    assert "silence (background)" in d.page_source
    assert css(".js-plotly-plot .heatmaplayer, .js-plotly-plot image"), "no spectrogram"
    box = wait_for("the match box", lambda: css('input[aria-label="Match a text"]'))[0]
    box.send_keys("a whistle", Keys.ENTER)
    wait_for("the cosine", lambda: "Cosine similarity" in _text(d))
    assert "Closer to this clip than" in _text(d)
    assert "Checkpoint" in _text(d) and "Load time" in _text(d)
    assert not css('[data-testid="stException"]')

    time.sleep(2)
    d.set_window_size(1400, 1500)
    time.sleep(2)
    shot = tmp_path / "screenshot-clip-lab.png"
    assert d.save_screenshot(str(shot))
    if os.environ.get("HYPELINE_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "screenshot-clip-lab.png")
    print(f"screenshot: {shot}")


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
