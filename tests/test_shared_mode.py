"""The dashboard on a shared server (AppTest): shared mode, sign-in and the exposure warning.

Shared mode is switched on the way a server's owner does it, with a ``[hypeline]`` table
in secrets (``at.secrets``). Links "into the server's network" are served by local test
servers that count their requests, so "refused before any connection" is checked, not
assumed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from emotion.analysis import embed_source
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.media.downloads import NETWORK_OPTIONS
from emotion.media.sources import open_source, source_identity
from tests import test_dashboard as dashboard
from tests.httpserver import serve_folder
from ui import shared, signin

home = dashboard.home
vod = dashboard.vod
PASSWORD = "correct horse battery"
STOPPED = "Stopped by an error"  # the run's status after a refusal


@pytest.fixture(autouse=True)
def server_address():
    """Each test starts bound to 127.0.0.1 (as .streamlit/config.toml says); restored after."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", before)


@pytest.fixture(autouse=True)
def fresh_lockout():
    signin.lockout.clear()
    yield
    signin.lockout.clear()


def app(**table) -> AppTest:
    """The dashboard with ``[hypeline]`` = ``table`` (no table: a one-person dashboard)."""
    at = dashboard.app()
    if table:
        at.secrets["hypeline"] = table
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_bound_beyond_loopback_without_shared_mode_every_page_warns(home: Path) -> None:
    at = app().run()
    assert not at.warning  # 127.0.0.1: only this computer
    st_config.set_option("server.address", "0.0.0.0")
    at = app().run()
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("This dashboard listens on 0.0.0.0, and shared mode is off: ")
    assert "any media file on this server by its path" in warning
    assert "add `shared = true` and a `password` under `[hypeline]`" in warning
    assert at.text_input(key="link")  # still usable: a warning, not a wall
    st_config.set_option("server.address", None)  # Streamlit's default binds every interface
    at = app().run()
    assert "listens on every network interface" in at.warning[0].value
    at = app(shared=True, password=PASSWORD).run()
    assert not at.warning and at.text_input(key="password")  # shared and signed: no warning
    at = app(shared=True).run()
    assert [w.value for w in at.warning] == [
        "Shared mode is on but nobody signs in: anyone who reaches this page can use it and "
        "see the team's library. Set `password` under `[hypeline]` in "
        "`.streamlit/secrets.toml`, or an `[auth]` provider (README: Running it for a team)."
    ]


def test_paths_outside_the_media_folders_are_refused_with_a_sentence(
    home: Path, vod: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    inside = folder / vod.name
    inside.symlink_to(vod)  # a link out of the folder: refused like the file itself
    at = app(shared=True, media_folders=[str(folder)]).run()
    assert at.text_input(key="link").label == "VOD link or file path"
    for typed in (str(vod), str(inside), f"{folder}/../{vod.parent.name}/{vod.name}"):
        at.text_input(key="link").input(typed)
        at.button(key="analyze_link").click().run()
        assert not at.exception and [s.label for s in at.status] == [STOPPED], typed
        (message,) = errors(at)
        assert message.endswith(".") and (
            " is outside the media folders this server shares " in message
            or message.startswith("Paths with .. are not opened here")
        ), message
    # Without media folders there is no path box, and a path typed into the link box is refused.
    at = app(shared=True).run()
    assert at.text_input(key="link").label == "VOD link"
    at.text_input(key="link").input(str(vod))
    at.button(key="analyze_link").click().run()
    assert errors(at) == [
        "This server opens no files by path; upload the file or paste a link instead."
    ]
    assert not Store(home).analyses()


def test_a_file_in_a_media_folder_is_analysed(home: Path, vod: Path, tmp_path: Path) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "stream.mp4").write_bytes(vod.read_bytes())
    at = app(shared=True, media_folders=[str(folder)], password=PASSWORD).run()
    at.text_input(key="password").input(PASSWORD)
    at.button[0].click().run()
    at.text_input(key="link").input("stream.mp4")  # relative to the media folder
    at.button(key="analyze_link").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert [s.label for s in at.status] == ["Analyzed stream"]
    (record,) = Store(home).analyses()
    assert record.source.path == folder / "stream.mp4" and record.complete


def test_links_into_the_servers_network_are_refused_without_a_connection(
    home: Path, vod: Path, monkeypatch
) -> None:
    monkeypatch.setitem(NETWORK_OPTIONS, "retries", 0)
    with serve_folder(vod.parent) as private, serve_folder(vod.parent) as public:
        public.redirects["watch"] = private.url(vod.name)
        # The second server stands in for a public site: reachable under the policy.
        policy = shared.policy
        monkeypatch.setattr(
            shared,
            "policy",
            lambda config: dataclasses.replace(
                policy(config), reachable=frozenset({("127.0.0.1", public.port)})
            ),
        )
        at = app(shared=True).run()
        for link in (private.url(vod.name), public.url("watch")):
            at.text_input(key="link").input(link)
            at.button(key="analyze_link").click().run()
            assert not at.exception
            assert errors(at) == [
                "The link leads to 127.0.0.1 (loopback address, not on the public internet) and "
                "shared mode opens public links only; paste a public link or upload the file."
            ], link
        assert public.count("GET", "watch") >= 1  # the redirect was asked for ...
    assert private.requests == []  # ... and never followed
    assert not (home / "downloads").exists() or not any((home / "downloads").rglob("*.mp4"))


def test_an_upload_over_the_cap_is_refused(home: Path) -> None:
    at = app(shared=True, max_upload_mb=1).run()
    uploader = at.file_uploader(key="upload")
    assert uploader.proto.max_upload_size_mb == 1  # the browser refuses it first
    big = b"\0" * (1024 * 1024 + 600_000)
    uploader.upload("big.mp4", big, "video/mp4")
    at.run()
    at.button(key="analyze_upload").click().run()
    assert not at.exception
    assert errors(at) == [
        "big.mp4 is 1.6 MB, over this server's upload limit of 1 MB; upload a shorter cut, "
        "or ask whoever runs it for a media folder."
    ]
    assert not at.status and not (home / "uploads").exists()
    assert "Up to 1 MB" in " ".join(c.value for c in at.caption)


def test_the_password_gate_blocks_every_page_until_the_right_password(home: Path) -> None:
    at = app(shared=True, password=PASSWORD).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Hypeline"]
    assert [w.key for w in at.text_input] == ["password"]  # no link box, no sidebar
    assert not at.sidebar.children and not at.tabs and not at.file_uploader
    at.text_input(key="password").input("wrong horse battery")
    at.button[0].click().run()
    assert errors(at) == ["Wrong password; try again."]
    assert [w.key for w in at.text_input] == ["password"]
    at.text_input(key="password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and not errors(at)
    assert at.text_input(key="link") and at.file_uploader(key="upload")
    assert at.sidebar.button(key="sign_out")
    at.sidebar.button(key="sign_out").click().run()
    assert [w.key for w in at.text_input] == ["password"]


def test_repeated_wrong_passwords_lock_out_even_the_right_one(home: Path, monkeypatch) -> None:
    monkeypatch.setattr(signin, "PAUSE_S", 1.0)
    at = app(shared=True, password=PASSWORD).run()
    for _ in range(signin.MAX_FAILURES):
        at.text_input(key="password").input("guess guess guess")
        at.button[0].click().run()
    assert errors(at) == ["Wrong password, 5 times in a row; wait 1 s, then try again."]
    at.text_input(key="password").input(PASSWORD)
    at.button[0].click().run()
    assert errors(at) == ["Too many wrong passwords; wait 1 s, then try again."]
    again = app(shared=True, password=PASSWORD).run()  # a reload is a new session: still locked
    again.text_input(key="password").input(PASSWORD)
    again.button[0].click().run()
    assert errors(again) == ["Too many wrong passwords; wait 1 s, then try again."]
    assert [w.key for w in again.text_input] == ["password"] and not again.tabs
    time.sleep(1.1)
    again.text_input(key="password").input(PASSWORD)
    again.button[0].click().run()
    assert not errors(again) and again.text_input(key="link")


def test_an_oidc_provider_replaces_the_password(home: Path) -> None:
    at = app(shared=True, password=PASSWORD)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "client_id": "hypeline",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://id.example/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.key for b in at.button] == ["login"] and not at.text_input
    at.user = {"is_logged_in": True, "email": "editor@example.com"}
    at.run()
    assert not at.exception and at.text_input(key="link")
    assert at.sidebar.button(key="logout").label == "Log out editor@example.com"


def test_the_library_shows_visitors_only_what_they_may_open(home: Path, vod: Path, clap) -> None:
    store = Store(home)
    source = open_source(vod)  # the owner's own file, analysed outside any media folder
    embed_source(clap, store, source, source_identity(source))
    at = app().run()
    assert at.selectbox(key="library").options == ["synthetic-vod · 1:30 · tiny-clap"]
    at = app(shared=True, disk_budget_gb=2).run()
    captions = [c.value for c in at.caption]
    assert "library" not in [w.key for w in at.selectbox]
    assert any(c.startswith("Nothing analysed yet") for c in captions)
    (usage,) = [c for c in captions if "Media on disk" in c]
    assert usage.startswith(":material/hard_drive: Media on disk: 0 B of a 2.0 GB budget (")
    assert usage.endswith("never removed automatically.") and "; analyses: " in usage


def test_a_broken_table_keeps_the_server_closed(home: Path) -> None:
    at = app(shared=True, media_folder=["/srv/vods"]).run()
    assert errors(at) == [
        "secrets.toml has an unknown setting hypeline.media_folder; the settings are shared, "
        "media_folders, max_upload_mb, disk_budget_gb, password (see the README: Running it "
        "for a team)."
    ]
    assert not at.text_input and not at.tabs
    bad = {
        "shared": "yes",
        "media_folders": ["/no/such/folder"],
        "max_upload_mb": 0,
        "disk_budget_gb": -1,
        "password": "short",
    }
    for key, value in bad.items():
        with pytest.raises(HypelineError) as e:
            shared.parse({key: value})
        message = str(e.value)
        assert f"hypeline.{key} in secrets.toml" in message and message.endswith("."), message
