"""The Clips page in a real browser: `streamlit run dashboard.py` driven by headless Chromium.

A synthetic VOD with a test-pattern picture is analysed into the server's library first;
the page is reached by its menu, a trim is typed (stored at once), one short is rendered
in the background (its progress, then its download). The screenshots (clips-page.png, and
clips-rendering.png while it renders) go to the test's tmp dir and, when
$HYPELINE_CLIPS_SHOT names a file, beside it; docs/screenshot-clips.png when
HYPELINE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source
from emotion.library.records import Trim
from emotion.library.store import Store
from emotion.media.audio import ffmpeg_exe
from emotion.media.sources import open_source, source_identity
from tests.synth import make_vod
from tests.test_browser import (
    EVENTS,
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

RENDER_S = 180  # one 1080×1920 short on two shared cores


def _vod(path: Path) -> Path:
    """The fixture's sounds under a moving test pattern, 640×360 (stills worth looking at)."""
    audio = make_vod(EVENTS, 90.0, SR, np.random.default_rng(7)).astype("<f4")
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25:d=90",
        "-f",
        "f32le",
        "-ar",
        str(SR),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-shortest",
        str(path),
    ]
    subprocess.run(cmd, input=audio.tobytes(), check=True, timeout=120)
    return path


def test_trim_and_render_a_short_in_the_browser(server: str, browser, tmp_path: Path, clap) -> None:  # noqa: F811
    # First view, an empty library: the page says what to do first, nothing else.
    browser.set_window_size(1400, 1000)
    browser.get(f"{server}/shorts")
    wait_for("the first view", lambda: "Nothing analysed yet" in _text(browser), 90)
    assert "Traceback" not in _text(browser) and "Render" not in _text(browser)
    assert browser.save_screenshot(str(tmp_path / "clips-first-view.png"))
    store = Store(tmp_path / "home")  # the server's library (tests/test_browser._streamlit)
    source = open_source(str(_vod(tmp_path / "stream-with-picture.mp4")))
    record = embed_source(clap, store, source, source_identity(source))
    try:
        _clips(server, browser, tmp_path, store, record.id)
    except AssertionError as e:
        browser.save_screenshot(str(tmp_path / "failure.png"))
        raise AssertionError(
            f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{_text(browser)}\n"
            f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
        ) from e


def _clips(url: str, d, tmp_path: Path, store: Store, aid: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    def buttons(text: str):
        return [b for b in css("button") if b.text.strip().endswith(text) and b.is_enabled()]

    d.set_window_size(1400, 1600)
    d.get(url)
    set_prompts(d, ["a whistle", "clicking"], ["silence"])
    menu = {e.text.split("\n")[-1]: e for e in css(NAV_LINKS)}
    assert "Clips" in menu, list(menu)
    menu["Clips"].click()
    wait_for("the cards", lambda: len(css('input[aria-label="Trim in (s)"]')) >= 2, 90)
    assert d.current_url.endswith("/shorts")
    body = _text(d)
    assert "01 · a whistle" in body and "02 · clicking" in body, body
    wait_for("the stills", lambda: len(css('[data-testid="stImage"] img')) >= 2, 60)

    trim_in = css('input[aria-label="Trim in (s)"]')[0]
    trim_in.send_keys(Keys.CONTROL, "a")
    trim_in.send_keys("-2", Keys.ENTER)
    wait_for("the trim in the library", lambda: store.trims(aid), 30)
    ((label, start_s), trim), *_ = store.trims(aid).items()
    assert (label, trim) == ("a whistle", Trim(-2.0, 0.0)), (label, start_s, trim)
    wait_for("the new length", lambda: "(was " in _text(d), 30)

    wait_for("Render this", lambda: buttons("Render this"), 30)[0].click()
    wait_for("the progress", lambda: "Rendering" in _text(d) or "Download short" in _text(d), 30)
    if "so far" in _text(d):  # the fragment's bar, ETA and Cancel, while it renders
        assert buttons("Cancel")
        _shot(d, tmp_path / "clips-rendering.png")
    wait_for("the short's download", lambda: buttons("Download short"), RENDER_S)
    shorts = list((store.home / "exports" / str(aid) / "shorts").glob("*.mp4"))
    assert len(shorts) == 1 and shorts[0].name.startswith("a-whistle-0-00-1")  # trimmed start
    assert "Rendered 1 short(s) into the library" in _text(d)
    assert not css('[data-testid="stException"]')

    first = wait_for("a play button", lambda: buttons("Play"))[0]
    first.click()
    wait_for("the player", lambda: css("video"), 30)
    d.execute_script("window.scrollTo(0, 0)")
    time.sleep(2)
    _shot(d, tmp_path / "clips-page.png")
    if os.environ.get("HYPELINE_SCREENSHOT"):
        shutil.copyfile(tmp_path / "clips-page.png", REPO / "docs" / "screenshot-clips.png")


def _shot(d, shot: Path) -> None:
    """A screenshot in the test's folder, and in $HYPELINE_CLIPS_SHOT's folder when set."""
    assert d.save_screenshot(str(shot))
    if target := os.environ.get("HYPELINE_CLIPS_SHOT"):
        shutil.copyfile(shot, Path(target).with_name(shot.name))
    print(f"screenshot: {shot}")


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
