"""``--chat auto``'s fetch: the chat track yt-dlp offers for a link, from a server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.chat.formats import RECHAT, detect_format, read_chat
from emotion.media.chat_download import fetch_chat
from tests.httpserver import serve_folder
from tests.media import write_media
from tests.test_chat_formats import CHAT, write_rechat


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))


def _info(url: str, subtitles: dict) -> dict:
    """yt-dlp's metadata as a site's extractor gives it (Twitch's names a rechat track)."""
    return {
        "id": "v1",
        "title": "A VOD",
        "extractor": "twitch:vod",
        "webpage_url": url,
        "subtitles": subtitles,
        "formats": [],
    }


def test_a_rechat_track_is_fetched_once_and_read_as_chat(tmp_path: Path) -> None:
    served = tmp_path / "site"
    served.mkdir()
    write_rechat(served / "comments.json")
    with serve_folder(served) as server:
        page = server.url("videos/1")
        info = _info(page, {"rechat": [{"url": server.url("comments.json"), "ext": "json"}]})
        path = fetch_chat(page, info)
        asked = list(server.requests)
        again = fetch_chat(page, info)  # reused: nothing asked the second time
        assert server.requests == asked
    assert path is not None and again == path
    assert detect_format(path) == RECHAT
    messages = [m.text for m in read_chat(path)]
    assert messages == [text for _, _, text, _ in CHAT]
    assert not list(path.parent.parent.glob("*.partial"))  # nothing half-written left


def test_a_site_without_chat_gives_none(tmp_path: Path) -> None:
    with serve_folder(tmp_path) as server:
        page = server.url("videos/2")
        assert fetch_chat(page, _info(page, {"en": [{"url": page, "ext": "vtt"}]})) is None
        # a plain media link: the generic extractor offers no chat
        write_media(tmp_path / "clip.wav", np.zeros(4800, np.float32), 48000)
        assert fetch_chat(server.url("clip.wav")) is None
