"""In a real browser: a recording with two audio tracks gets a track picker, and the
chosen track is the one analysed."""

from __future__ import annotations

from pathlib import Path

from tests import test_browser as browser_tests
from tests.test_browser import _enabled_button, _option, _text, set_prompts, wait_for
from tests.test_tracks import two_track_recording

pytestmark = browser_tests.pytestmark
server = browser_tests.server
browser = browser_tests.browser


def test_pick_the_mic_track_in_the_browser(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    recording = two_track_recording(tmp_path)
    d = browser
    d.get(server)

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    set_prompts(d, ["a siren", "a whistle"], ["silence"])
    link = wait_for("the link box", lambda: css('input[aria-label="VOD link or file path"]'))[0]
    link.send_keys(str(recording), Keys.ENTER)

    picker = wait_for("the track picker", lambda: css('input[aria-label="Audio track"]'))[0]
    picker.click()
    options = [e.text for e in wait_for("the options", lambda: css('[role="option"]'))]
    assert options == [
        '1: opus, mono, 48000 Hz, "Game", default',
        '2: opus, mono, 48000 Hz, eng, "Mic"',
    ], options
    _option(d, '"Mic"').click()
    wait_for("track 2 chosen", lambda: '"Mic"' in d.page_source.replace("&quot;", '"'))
    wait_for("an enabled Analyze button", lambda: _enabled_button(d, "Analyze")).click()

    try:
        wait_for("the table", lambda: css('[data-testid="stDataFrame"] td'), timeout_s=90)
    except AssertionError as e:
        d.save_screenshot(str(tmp_path / "failure.png"))
        raise AssertionError(f"{e}\n{_text(d)}\nscreenshot: {tmp_path / 'failure.png'}") from e
    assert not css('[data-testid="stException"]'), _text(d)
    cells = [c.get_attribute("textContent") for c in css('[data-testid="stDataFrame"] td')]
    moments = {c for c in cells if c in ("a siren", "a whistle")}
    assert moments == {"a whistle"}, cells  # the mic's event, not the game's siren
    assert "track 2" in _text(d)
    shot = tmp_path / "screenshot-tracks.png"
    assert d.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
