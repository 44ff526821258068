"""The dashboard in a real browser: `streamlit run dashboard.py` driven by headless Chromium.

Analyzes a synthetic VOD through the page (upload, Analyze) with the fixture checkpoint,
checks that the timeline and the highlight table render, and saves a screenshot in the
test's tmp dir (and in docs/screenshot-analyze.png when HYPELINE_SCREENSHOT is set).
With shared mode on (a secrets file), the password gate stands before every page.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SR = 48_000
EVENTS = [("a whistle", 20.0, 30.0), ("clicking", 55.0, 65.0)]
SERVER_START_S = 60
ROW_PX = 35  # the table's header and row height
ANALYSIS_S = 90
NAV_LINKS = '[data-testid="stTopNavLink"], [data-testid="stSidebarNavLink"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() or not CHROMEDRIVER.exists(),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
        "/usr/bin/chromedriver): apt-get install chromium chromium-driver",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free port of 127.0.0.1; its URL."""
    with _streamlit(tmp_path) as url:
        yield url


@contextlib.contextmanager
def _streamlit(tmp_path: Path, *options: str) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
    }
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *options,
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{_tail(tmp_path / 'streamlit.log')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(what: str, check: Callable[[], object], timeout_s: float = 30) -> object:
    """Poll ``check`` until it returns something truthy (its exceptions count as not yet)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception:  # stale elements while Streamlit re-renders
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.3)


def test_analyze_a_file_in_the_browser(server: str, browser, tmp_path: Path) -> None:
    try:
        _analyze_a_file(server, browser, tmp_path)
    except AssertionError as e:
        from selenium.webdriver.common.by import By

        browser.save_screenshot(str(tmp_path / "failure.png"))
        text = browser.find_element(By.TAG_NAME, "body").text
        raise AssertionError(
            f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{text}\n"
            f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
        ) from e


def _analyze_a_file(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    vod = make_vod(EVENTS, 90.0, SR, np.random.default_rng(7))
    path = write_media(
        tmp_path / "synthetic-vod.mp4",
        vod,
        SR,
        audio_args=("-c:a", "aac", "-b:a", "128k"),
        video=True,
    )
    d = browser
    started = time.monotonic()
    d.get(server)

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    # The first view of a fresh server: only the dashboard's own menu, ever, then the page.
    menus = []
    while "Find the moments" not in _text(d):
        menus.append(tuple(e.text.split("\n")[-1] for e in css(NAV_LINKS)))
        assert time.monotonic() < started + SERVER_START_S, menus
    assert menus and {m for m in menus if m} == {menus[-1]}, menus
    assert menus[-1][0] == "Analyze" and "Clip Lab" in menus[-1], menus

    set_prompts(d, ["a whistle", "clicking"], ["silence"])

    # Upload the file, then Analyze.
    select_tab(d, "Upload")
    # the VOD's uploader: not the sidebar's prompt-pack loader, nor a chat replay's
    uploader = next(
        u
        for u in css('[data-testid="stMain"] [data-testid="stFileUploader"]')
        if "A video or audio file" in u.get_attribute("textContent")
    )
    uploader.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(path))
    wait_for("the upload", lambda: "synthetic-vod.mp4" in d.page_source, timeout_s=60)
    select_tab(d, "Upload")  # a rerun that lands as the tab is clicked can show the first tab
    analyze = wait_for("an enabled Analyze button", lambda: _enabled_button(d, "Analyze"))
    analyze.click()

    wait_for("the timeline", lambda: css(".js-plotly-plot .scatterlayer"), timeout_s=ANALYSIS_S)
    wait_for("the highlight table", lambda: css('[data-testid="stDataFrame"] [role="row"]'))
    assert not css('[data-testid="stException"]'), d.find_element(By.TAG_NAME, "body").text
    body = d.find_element(By.TAG_NAME, "body").text
    assert "YouTube chapters" in body and "FCPXML" in body
    # One line per prompt, and a star per highlight; a row per highlight in the table.
    lines = css(".js-plotly-plot .scatterlayer .trace")
    stars = css(".js-plotly-plot .scatterlayer .trace:last-child path.point")
    n = int(re.search(r"Export (\d+) of \1 highlights", body).group(1))
    assert len(lines) == 3 + 1 and len(stars) == n > 0, (len(lines), len(stars), n)
    cells = [c.get_attribute("textContent") for c in css('[data-testid="stDataFrame"] td')]
    w = 8  # play, still (a video), moment, start, end, score, keep, why
    assert len(cells) == w * n and set(cells[2::w]) <= {"a whistle", "clicking"}, cells
    assert "a whistle" in cells[2::w], cells
    assert all(c.startswith("data:image/jpeg;base64,") for c in cells[1::w]), cells

    # Hovering a star tells the highlight in h:mm:ss; a click plays from its start.
    whistle = cells[2::w].index("a whistle")
    start, end = cells[w * whistle + 3], cells[w * whistle + 4]
    ActionChains(d).move_to_element(stars[whistle]).perform()
    wait_for("the hover", lambda: f"a whistle · {start}–{end}" in _hover(d))
    ActionChains(d).click().perform()
    wait_for("the player to seek", lambda: f"Playing from {start}" in _text(d))
    # So does a click inside a band, away from the lines.
    other = 1 - whistle if n > 1 else whistle
    band = css(".js-plotly-plot .barlayer path")[other]
    ActionChains(d).move_to_element(band).click().perform()  # its middle: no line there
    wait_for("the player to seek", lambda: f"Playing from {cells[w * other + 3]}" in _text(d))
    # Ticking Keep (keyboard: a cell of the row, → to Keep, space) narrows the exports.
    grid = css('[data-testid="stDataFrame"]')[0]
    rect = grid.rect
    ActionChains(d).move_to_element_with_offset(
        grid, 100 - rect["width"] / 2, ROW_PX * (1.5 + whistle) - rect["height"] / 2
    ).click().perform()
    time.sleep(0.5)
    ActionChains(d).send_keys(Keys.ARROW_RIGHT * 5, Keys.SPACE).perform()
    wait_for("the review", lambda: f"Export 1 of {n} highlights" in _text(d))
    if n > 1:
        assert "star-open" not in d.page_source  # kept ones stay filled
    assert video_or_audio(d)

    # Let the chart settle, then capture the whole page.
    time.sleep(2)
    d.set_window_size(1400, 1900)
    time.sleep(2)
    shot = tmp_path / "screenshot-analyze.png"
    assert d.save_screenshot(str(shot))
    if os.environ.get("HYPELINE_SCREENSHOT"):
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "screenshot-analyze.png")
    print(f"screenshot: {shot}")


def set_prompts(d, moments: list[str], background: list[str]) -> None:
    """Start the sidebar from the blank preset and type the fixture's captions in."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def css(selector: str):
        return d.find_elements(By.CSS_SELECTOR, selector)

    def sidebar_values() -> list[str]:
        return [e.get_attribute("value") for e in css('[data-testid="stSidebar"] input')]

    # The model loads in the background and the app is drawn again once it is ready: type
    # after that, as a visitor who sees "loading…" does (a redraw mid-typing can submit a
    # new prompt twice, which the sidebar then refuses as given twice).
    wait_for("the model", lambda: "ready ·" in _text(d), timeout_s=120)
    preset = 'input[aria-label="Start from a preset"]'
    wait_for("the preset picker", lambda: css(preset))[0].click()
    wait_for("the Blank option", lambda: _option(d, "Blank")).click()
    wait_for("the prompts to clear", lambda: "laughter" not in sidebar_values())
    wait_for("Add moments", lambda: css('input[aria-label="Add moments"]'))[0].send_keys(
        ", ".join(moments), Keys.ENTER
    )
    wait_for("the moments", lambda: set(moments) <= set(sidebar_values()))
    add_background = 'input[aria-label="Add background sounds"]'
    wait_for("Add background", lambda: css(add_background))[0].send_keys(
        ", ".join(background), Keys.ENTER
    )
    wait_for("the background", lambda: set(background) <= set(sidebar_values()))


def _text(d) -> str:
    from selenium.webdriver.common.by import By

    return d.find_element(By.TAG_NAME, "body").text


def _hover(d) -> str:
    from selenium.webdriver.common.by import By

    return " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, ".hoverlayer .hovertext"))


def video_or_audio(d) -> bool:
    from selenium.webdriver.common.by import By

    return bool(d.find_elements(By.CSS_SELECTOR, "video, audio"))


def _option(d, text: str):
    from selenium.webdriver.common.by import By

    for e in d.find_elements(By.CSS_SELECTOR, '[role="option"]'):
        if text in e.text:
            return e
    return None


def _tab(d, text: str):
    from selenium.webdriver.common.by import By

    for e in d.find_elements(By.CSS_SELECTOR, '[role="tab"]'):
        if text in e.text:
            return e
    return None


def select_tab(d, text: str) -> None:
    """Click the tab until it stays selected (a rerun under way can draw the first tab)."""

    def selected() -> bool:
        tab = _tab(d, text)
        if tab is not None and tab.get_attribute("aria-selected") != "true":
            tab.click()
            return False
        time.sleep(0.5)
        return tab is not None and _tab(d, text).get_attribute("aria-selected") == "true"

    wait_for(f"the {text} tab", selected)


def _enabled_button(d, text: str):
    from selenium.webdriver.common.by import By

    for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="stMainBlockContainer"] button'):
        if e.text.strip() == text and e.is_displayed() and e.is_enabled():
            return e
    return None


PASSWORD = "correct horse battery"


def test_shared_mode_asks_for_the_password_before_any_page(tmp_path: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[hypeline]\nshared = true\npassword = "{PASSWORD}"\n')
    with _streamlit(tmp_path, "--secrets.files", str(secrets)) as url:
        d = browser
        try:
            # A page's own address as the very first request of the server, then the home page.
            for address in (f"{url}/analyze", url):
                d.get(address)
                box = wait_for("the password box", lambda: _password_box(d))
                time.sleep(1)  # anything else would have rendered by now
                body = _text(d)
                assert "Find the moments" not in body and "Moments to find" not in body, body
                assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] input')
            box.send_keys("not the password", Keys.ENTER)
            wait_for("the refusal", lambda: "Wrong password; try again." in _text(d))
            assert d.save_screenshot(str(tmp_path / "screenshot-signin.png"))
            _password_box(d).send_keys(PASSWORD, Keys.ENTER)
            wait_for("the Analyze page", lambda: "Find the moments" in _text(d), timeout_s=60)
            wait_for(
                "the link box",
                lambda: d.find_elements(By.CSS_SELECTOR, 'input[aria-label="VOD link"]'),
            )
            wait_for("the Analyze button", lambda: _enabled_button(d, "Analyze"))
            assert "Moments to find" in _text(d)  # the sidebar, now
            time.sleep(1)
            assert not d.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
            shot = tmp_path / "screenshot-shared.png"
            assert d.save_screenshot(str(shot))
            print(f"screenshot: {shot}")
        except AssertionError as e:
            d.save_screenshot(str(tmp_path / "failure.png"))
            raise AssertionError(
                f"{e}\n--- page (screenshot: {tmp_path / 'failure.png'}) ---\n{_text(d)}\n"
                f"--- server log ---\n{_tail(tmp_path / 'streamlit.log')}"
            ) from e


def _password_box(d):
    from selenium.webdriver.common.by import By

    boxes = d.find_elements(By.CSS_SELECTOR, 'input[type="password"]')
    return boxes[0] if boxes else None
