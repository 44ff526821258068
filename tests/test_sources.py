"""Sources: local files, and links fetched with yt-dlp from a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import emotion.media.downloads as downloads
import emotion.media.local_files as local_files
from emotion.errors import HypelineError, SourceError
from emotion.media.audio import ffmpeg_exe, load_audio
from emotion.media.netguard import BlockedAddressError
from emotion.media.source import Source, SourcePolicy, SourceProgress, canonical_url
from emotion.media.sources import open_source, source_identity
from emotion.paths import downloads_dir, hypeline_home
from tests.httpserver import Server, closed_port, serve_folder

CLIP_S = 5.0


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of media and pages, as a web server would hold them."""
    root = tmp_path_factory.mktemp("site")
    video = ["-f", "lavfi", "-i", f"color=c=black:s=64x64:r=25:d={CLIP_S}"]
    sine = ["-f", "lavfi", "-i", f"sine=f=440:d={CLIP_S}"]
    h264 = ["-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p"]
    _ffmpeg(*video, *sine, *h264, "-c:a", "aac", "-shortest", str(root / "clip.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=2", str(root / "tone.wav"))
    _ffmpeg(*video, *h264, "-an", str(root / "silent.mp4"))
    (root / "hls").mkdir()
    _ffmpeg(
        *video,
        *sine,
        *h264,
        "-c:a",
        "aac",
        "-shortest",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_playlist_type",
        "vod",
        str(root / "hls" / "index.m3u8"),
    )
    (root / "page.html").write_text("<html><head><title>Hi</title></head><body>hello</body></html>")
    (root / "two.html").write_text(
        '<html><body><video src="clip.mp4"></video><video src="hls/index.m3u8"></video></body></html>'
    )
    (root / "notes.txt").write_text("not media\n")
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HYPELINE_HOME in tmp_path, and a yt-dlp that gives up quickly."""
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(
        downloads,
        "NETWORK_OPTIONS",
        {"socket_timeout": 10, "retries": 1, "fragment_retries": 1, "extractor_retries": 0},
    )
    return tmp_path / "home"


@pytest.fixture
def server(site: Path):
    with serve_folder(site) as s:
        yield s


def assert_one_sentence(error: HypelineError) -> str:
    message = str(error)
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message
    assert message.endswith(".")
    return message


# --- paths ---------------------------------------------------------------------------


def test_home_is_the_env_folder_created_on_demand(home: Path) -> None:
    assert not home.exists()
    assert hypeline_home() == home and home.is_dir()
    assert downloads_dir() == home / "downloads" and downloads_dir().is_dir()


def test_home_defaults_to_the_user_cache_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HYPELINE_HOME", raising=False)
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda name: str(tmp_path / "cache" / name))
    assert hypeline_home() == tmp_path / "cache" / "hypeline"


# --- local files ---------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [True, False])
@pytest.mark.decoder
def test_local_video_file(site: Path, as_path: bool) -> None:
    spec = site / "clip.mp4"
    source = open_source(spec if as_path else str(spec))
    assert source.path == spec
    assert source.title == "clip"
    assert source.duration_s == pytest.approx(CLIP_S, abs=0.1)
    assert source.has_video and source.fps == 25.0
    assert source.url is None


def test_opening_a_local_file_writes_nothing(site: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    assert open_source(site / "tone.wav").path == site / "tone.wav"
    assert not (tmp_path / "home").exists()  # a read-only HYPELINE_HOME is no obstacle


@pytest.mark.decoder
def test_local_wav(site: Path) -> None:
    source = open_source(site / "tone.wav")
    assert source.title == "tone"
    assert source.duration_s == pytest.approx(2.0, abs=0.05)
    assert not source.has_video and source.fps is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("missing.mp4", "File not found"),
        ("C:\\vods\\stream.mp4", "File not found"),  # a Windows path, not a "c:" link
        ("www.twitch.tv/videos/123", "start it with https://"),
        (".", "is a folder"),
        ("notes.txt", "not a media file ffmpeg can read"),
        ("silent.mp4", "has no audio track"),
    ],
)
@pytest.mark.decoder
def test_local_file_errors(site: Path, monkeypatch, spec: str, expected: str) -> None:
    monkeypatch.chdir(site)
    with pytest.raises(HypelineError) as e:  # SourceError, or AudioError from ffmpeg
        open_source(spec)
    assert expected in assert_one_sentence(e.value)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(site: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.mp4"
    locked.write_bytes((site / "clip.mp4").read_bytes())
    locked.chmod(0)
    with pytest.raises(SourceError) as e:
        open_source(locked)
    assert "Cannot read" in assert_one_sentence(e.value)


# --- identity ------------------------------------------------------------------------


def test_local_identity_is_the_sha256_of_the_file(site: Path, tmp_path: Path, monkeypatch) -> None:
    expected = "sha256:" + hashlib.sha256((site / "clip.mp4").read_bytes()).hexdigest()
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes((site / "clip.mp4").read_bytes())
    assert source_identity(open_source(site / "clip.mp4")) == expected
    assert source_identity(open_source(copy)) == expected  # content, not name

    calls = []
    real = local_files._file_digest
    monkeypatch.setattr(local_files, "_file_digest", lambda p, n: calls.append(p) or real(p, n))
    for _ in range(3):
        assert source_identity(open_source(copy)) == expected
    assert len(calls) == 0  # cached for this session by (path, size, mtime)
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert source_identity(open_source(copy)) != expected
    assert len(calls) == 1


def test_big_files_get_a_sampled_hash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(local_files, "FULL_HASH_MAX_BYTES", 1000)
    monkeypatch.setattr(local_files, "SAMPLED_EDGE_BYTES", 100)
    monkeypatch.setattr(local_files, "HASH_CHUNK_BYTES", 10)
    monkeypatch.setattr(local_files, "SAMPLED_MIDDLE_COUNT", 4)
    data = bytearray(os.urandom(5000))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(data)
    b.write_bytes(data)
    ident = source_identity(Source(path=a, title="a", duration_s=None))
    assert ident.startswith("sha256-sampled:")
    assert ident == source_identity(Source(path=b, title="b", duration_s=None))
    for offset in (0, 4999, 100 + (4800 // 5)):  # first edge, last edge, first middle sample
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        b.write_bytes(changed)
        assert source_identity(Source(path=b, title="b", duration_s=None)) != ident


def test_canonical_url() -> None:
    assert canonical_url("HTTPS://WWW.Twitch.TV:443/videos/1?t=1h#chat") == (
        "https://www.twitch.tv/videos/1?t=1h"
    )
    assert canonical_url("http://Example.com:80") == "http://example.com/"
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"
    assert canonical_url("http://[::1]:80/a") == "http://[::1]/a"
    assert canonical_url("https://example.com/Case/Path") == "https://example.com/Case/Path"


# --- downloads -----------------------------------------------------------------------


@pytest.mark.decoder
def test_download_direct_media(home: Path, server: Server, site: Path, capfd) -> None:
    seen: list[SourceProgress] = []
    source = open_source(server.url("clip.mp4"), progress=seen.append)

    assert source.path.is_relative_to(home / "downloads")
    assert source.path.read_bytes() == (site / "clip.mp4").read_bytes()
    assert source.title == "clip"
    assert source.duration_s == pytest.approx(CLIP_S, abs=0.1)
    assert source.has_video and source.fps == 25.0
    assert source.url == server.url("clip.mp4")
    assert source_identity(source) == "url:" + server.url("clip.mp4")

    fractions = [p.fraction for p in seen if p.fraction is not None]
    assert len(fractions) >= 2 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)
    assert all(isinstance(p, SourceProgress) and p.stage == "download" for p in seen)
    assert seen[-1].message == "0.1 of 0.1 MB"
    assert seen[-1].total_bytes == seen[-1].downloaded_bytes == source.path.stat().st_size
    assert not list((home / "downloads").rglob("*.part"))
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # yt-dlp's chatter goes to our logger, not the console


def test_same_link_again_does_not_touch_the_network(home: Path, server: Server) -> None:
    first = open_source(server.url("clip.mp4"))
    mtime = first.path.stat().st_mtime_ns
    server.requests.clear()

    # Same link spelled differently: scheme case, a fragment.
    again = open_source("HTTP://" + server.url("clip.mp4#t=30").removeprefix("http://"))
    assert again == first
    assert again.path.stat().st_mtime_ns == mtime
    assert server.requests == []


def test_a_deleted_download_is_fetched_again(home: Path, server: Server) -> None:
    first = open_source(server.url("clip.mp4"))
    first.path.unlink()
    again = open_source(server.url("clip.mp4"))
    assert again.path.is_file() and server.count("GET", "clip.mp4") >= 3


@pytest.mark.decoder
def test_hls_playlist_becomes_one_file(home: Path, server: Server, site: Path) -> None:
    seen: list[SourceProgress] = []
    source = open_source(server.url("hls/index.m3u8"), progress=seen.append)

    assert source.path.is_file() and source.path.suffix == ".mp4"
    assert [p.name for p in source.path.parent.iterdir()] == [source.path.name]
    assert server.count("GET", "hls/index2.ts") == 1  # all three segments fetched
    decoded_s = load_audio(source.path, 48_000).size / 48_000
    assert decoded_s == pytest.approx(CLIP_S, abs=0.1)
    assert source.has_video
    assert seen[-1].fraction == 1.0


def test_an_interrupted_download_is_never_taken_as_complete(
    home: Path, server: Server, site: Path
) -> None:
    server.cut_after["clip.mp4"] = 20_000
    with pytest.raises(SourceError) as e:
        open_source(server.url("clip.mp4"))
    assert "stopped before the end" in assert_one_sentence(e.value)
    downloads = home / "downloads"
    assert not (downloads / "index").exists() or not list((downloads / "index").iterdir())
    assert [p.name for p in downloads.iterdir() if p.name != ".incomplete"] == []

    del server.cut_after["clip.mp4"]
    source = open_source(server.url("clip.mp4"))
    assert source.path.read_bytes() == (site / "clip.mp4").read_bytes()
    assert any(r.startswith("bytes=") and r != "bytes=0-" for r in server.ranges)  # resumed


def test_progress_can_cancel_and_the_next_call_resumes(home: Path, server: Server) -> None:
    class Cancelled(Exception):
        pass

    def cancel_midway(p: SourceProgress) -> None:
        if p.fraction is not None and 0.0 < p.fraction < 1.0:
            raise Cancelled

    with pytest.raises(Cancelled):
        open_source(server.url("clip.mp4"), progress=cancel_midway)
    assert list((home / "downloads").rglob("*.part"))
    assert not (home / "downloads" / "index").exists()
    assert open_source(server.url("clip.mp4")).path.is_file()


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "ftp://example.com/vod.mp4",
        "rtmp://live.example.com/app",
        "javascript:alert(1)",
    ],
)
def test_only_http_links(home: Path, link: str) -> None:
    with pytest.raises(SourceError) as e:
        open_source(link)
    message = assert_one_sentence(e.value)
    assert message.startswith("Only http(s) links are supported")
    assert "give its path" in message


def test_unreachable_host(home: Path, capfd) -> None:
    with pytest.raises(SourceError) as e:
        open_source(f"http://127.0.0.1:{closed_port()}/vod.mp4")
    assert assert_one_sentence(e.value) == (
        "Could not reach 127.0.0.1; check the link and your connection."
    )
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("status", [403, 404])
def test_missing_or_forbidden_video(home: Path, server: Server, status: int) -> None:
    server.fail_with["gone.mp4"] = status
    with pytest.raises(SourceError) as e:
        open_source(server.url("gone.mp4"))
    message = assert_one_sentence(e.value)
    assert "private, removed or not found" in message and f"(HTTP {status})" in message


def test_server_error(home: Path, server: Server) -> None:
    server.fail_with["vod.mp4"] = 503
    with pytest.raises(SourceError) as e:
        open_source(server.url("vod.mp4"))
    assert "answered with an error (HTTP 503)" in assert_one_sentence(e.value)


def test_page_without_media(home: Path, server: Server) -> None:
    with pytest.raises(SourceError) as e:
        open_source(server.url("page.html"))
    assert assert_one_sentence(e.value) == (
        f"No video or audio found at {server.url('page.html')}; "
        "paste the link of the video page itself."
    )


def test_page_with_several_videos_is_refused_before_any_download(
    home: Path, server: Server
) -> None:
    with pytest.raises(SourceError) as e:
        open_source(server.url("two.html"))
    assert "not one video" in assert_one_sentence(e.value)
    assert server.count("GET", "clip.mp4") == 0


# --- with a policy (the dashboard's shared mode) -------------------------------------


def _public(server: Server) -> SourcePolicy:
    """A policy under which this local test server stands in for a public site."""
    return SourcePolicy(reachable=frozenset({("127.0.0.1", server.port)}))


def test_a_policy_still_downloads_from_public_sites(home: Path, server: Server) -> None:
    clip = open_source(server.url("clip.mp4"), policy=_public(server))
    assert clip.path.is_relative_to(home / "downloads") and clip.has_video
    hls = open_source(server.url("hls/index.m3u8"), policy=_public(server))
    assert hls.path.is_file() and server.count("GET", "hls/index2.ts") == 1


def test_links_into_the_servers_network_are_refused_before_any_connection(
    home: Path, server: Server, site: Path
) -> None:
    # Straight at a loopback server.
    with pytest.raises(BlockedAddressError) as e:
        open_source(server.url("clip.mp4"), policy=SourcePolicy())
    assert assert_one_sentence(e.value).startswith("The link leads to 127.0.0.1 (loopback address")
    # A name that resolves into the LAN: judged on the answer, nothing contacted.
    asked = []

    def lan_dns(host: str, port: int, *args: object) -> list[tuple]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.20", port))]

    with pytest.raises(BlockedAddressError) as e:
        open_source("http://nas.example/vod.mp4", policy=SourcePolicy(resolve=lan_dns))
    assert "nas.example is 192.168.1.20 (private address" in str(e.value)
    assert asked == ["nas.example"]
    assert server.requests == []
    # A link fetched earlier without a policy (the owner's CLI) is not served either.
    open_source(server.url("clip.mp4"))
    with pytest.raises(BlockedAddressError):
        open_source(server.url("clip.mp4"), policy=SourcePolicy())


def test_a_redirect_or_a_pages_media_into_the_network_is_refused_unconnected(
    home: Path, site: Path, server: Server
) -> None:
    (site / "embeds-private.html").write_text(
        f'<html><body><video src="{server.url("clip.mp4")}"></video></body></html>'
    )
    with serve_folder(site) as public:
        public.redirects["vod"] = server.url("clip.mp4")
        for link in (public.url("vod"), public.url("embeds-private.html")):
            with pytest.raises(BlockedAddressError) as e:
                open_source(link, policy=_public(public))
            assert assert_one_sentence(e.value).startswith(
                "The link leads to 127.0.0.1 (loopback address"
            )
        assert public.count("GET", "vod") >= 1 and public.count("GET", "embeds-private.html") >= 1
    assert server.requests == []  # the private server never saw a connection


def test_a_policy_opens_typed_paths_only_inside_the_media_folders(
    home: Path, site: Path, tmp_path: Path
) -> None:
    policy = SourcePolicy(media_folders=(site,))
    assert open_source(str(site / "tone.wav"), policy=policy).path == site / "tone.wav"
    assert open_source("tone.wav", policy=policy).path == site / "tone.wav"
    elsewhere = tmp_path / "elsewhere.wav"
    elsewhere.write_bytes((site / "tone.wav").read_bytes())
    with pytest.raises(SourceError) as e:
        open_source(str(elsewhere), policy=policy)
    assert "is outside the media folders this server shares" in assert_one_sentence(e.value)
    with pytest.raises(SourceError, match="opens no files by path"):
        open_source(str(site / "tone.wav"), policy=SourcePolicy())
    # Hypeline's own uploads open as Paths (not as typed text) without a media folder.
    upload = hypeline_home() / "uploads" / "abc" / "tone.wav"
    upload.parent.mkdir(parents=True)
    upload.write_bytes((site / "tone.wav").read_bytes())
    assert open_source(upload, policy=SourcePolicy()).path == upload.resolve()
    with pytest.raises(SourceError, match="outside the folders this server shares"):
        open_source(elsewhere, policy=SourcePolicy())


def test_two_callers_of_one_link_download_it_once(home: Path, server: Server) -> None:
    started, go_on = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    waited: list[str] = []

    def first_progress(p) -> None:  # holds the download open until the second one waits
        started.set()
        go_on.wait(timeout=30)

    def second_progress(p) -> None:
        waited.append(p.message)
        go_on.set()

    def fetch(name: str, progress) -> None:
        results[name] = open_source(server.url("clip.mp4"), progress=progress)

    first = threading.Thread(target=fetch, args=("first", first_progress))
    first.start()
    assert started.wait(timeout=30)
    second = threading.Thread(target=fetch, args=("second", second_progress))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert waited[0] == "another process is downloading this link"
    assert results["first"] == results["second"]
    media = [p for p in (home / "downloads").rglob("*.mp4")]
    assert len(media) == 1 and not list((home / "downloads").rglob("*.part"))
