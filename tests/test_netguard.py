"""The network guard: addresses judged without contacting them, connections refused before they start."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from emotion.media.netguard import BlockedAddressError, address_kind, check_public_url, public_only

ADDRESSES = {
    "8.8.8.8": None,
    "93.184.216.34": None,
    "2001:4860:4860::8888": None,
    "::ffff:8.8.8.8": None,
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped IPv6
    "2002:7f00:1::": "loopback",  # 6to4 around 127.0.0.1
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.20": "private",
    "fc00::1": "private",
    "64:ff9b::a00:1": "private",  # NAT64 around 10.0.0.1
    "169.254.169.254": "link-local",  # cloud metadata endpoints live here
    "fe80::1%eth0": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "100.64.0.1": "non-public",  # carrier-grade NAT
}


def test_each_kind_of_address_is_named_and_public_ones_pass() -> None:
    assert {ip: address_kind(ip) for ip in ADDRESSES} == ADDRESSES


class FakeDNS:
    """getaddrinfo for made-up names: answers from a table, remembers the questions."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int, *args: object) -> list[tuple]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in self.table[host]
        ]


def test_a_link_is_judged_by_every_address_its_host_resolves_to() -> None:
    dns = FakeDNS(
        {
            "vods.example": ["93.184.216.34", "2606:2800:220:1::1"],
            "nas.example": ["192.168.1.20"],
            "sneaky.example": ["93.184.216.34", "127.0.0.1"],  # one bad answer is enough
            "metadata.example": ["169.254.169.254"],
        }
    )
    check_public_url("https://vods.example/v/1", dns)
    check_public_url("https://gone.example/v/1", dns)  # no answer: nothing to connect to
    with pytest.raises(BlockedAddressError) as e:
        check_public_url("http://nas.example:8080/vod.mp4", dns)
    assert str(e.value) == (
        "nas.example is 192.168.1.20 (private address, not on the public internet) and shared "
        "mode opens public links only; paste a public link or upload the file."
    )
    for url in ("http://sneaky.example/", "http://metadata.example/latest/meta-data/"):
        with pytest.raises(BlockedAddressError):
            check_public_url(url, dns)
    assert dns.asked == [
        ("vods.example", 443),
        ("gone.example", 443),
        ("nas.example", 8080),
        ("sneaky.example", 80),
        ("metadata.example", 80),
    ]


def test_literal_addresses_are_judged_without_a_lookup() -> None:
    dns = FakeDNS({})
    for url in ("http://127.0.0.1:8501/", "http://[::1]/x", "http://[::ffff:10.0.0.1]/x"):
        with pytest.raises(BlockedAddressError, match="not on the public internet"):
            check_public_url(url, dns)
    check_public_url("http://127.0.0.1:9000/x", dns, allow={("127.0.0.1", 9000)})
    assert dns.asked == []


@pytest.fixture
def listener():
    """A listening socket on 127.0.0.1 that nobody accepts from: connections queue up."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.setblocking(False)
        yield s


def _queued(listener: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def test_public_only_refuses_connections_before_they_are_made(listener) -> None:
    port = listener.getsockname()[1]
    with public_only():
        with pytest.raises(BlockedAddressError, match="127.0.0.1 .loopback"):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        started = time.monotonic()
        with pytest.raises(BlockedAddressError, match="10.255.255.1 .private"):
            # An unroutable address: a real attempt would wait for the timeout.
            socket.create_connection(("10.255.255.1", 9), timeout=5)
        assert time.monotonic() - started < 0.5
        # Another thread is not watched (Streamlit's own server, other visitors' runs).
        other = threading.Thread(target=lambda: socket.create_connection(("127.0.0.1", port)))
        other.start()
        other.join(5)
    with public_only(allow={("127.0.0.1", port)}):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # unwatched again
    time.sleep(0.1)
    assert _queued(listener) == 3  # the other thread's, the allowed one, the one after


def test_public_only_keeps_urls_away_from_subprocesses() -> None:
    with public_only():
        with pytest.raises(BlockedAddressError, match="needs ffmpeg"):
            subprocess.Popen(["ffmpeg", "-i", "http://127.0.0.1:1/x.m3u8", "out.wav"])
        # Local work (yt-dlp's post-processing passes "file:" paths) still runs.
        done = subprocess.run([sys.executable, "-c", "print('file:/tmp/x')"], capture_output=True)
        assert done.stdout == b"file:/tmp/x\n"
