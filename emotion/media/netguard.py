"""Which network addresses a link from someone else may reach: public ones only.

The dashboard's shared mode (and the HTTP API) open links that visitors type. Handed
straight to yt-dlp, such a link is a way into the server's own network: its loopback
services, the LAN, a cloud metadata endpoint at 169.254.169.254. Two checks close it:

* ``check_public_url`` resolves a link's host before anything connects and refuses it
  when any of its addresses is not public;
* ``public_only()`` then watches every connection the current thread opens (through
  Python's audit hooks, so yt-dlp's redirects, the pages an extractor fetches, and a
  DNS answer that changed since the first check are all seen) and refuses any to an
  address that is not public, before the connection is made. It also refuses to hand a
  network URL to a subprocess (ffmpeg fetching on yt-dlp's behalf would escape the
  watch).

The CLI uses neither: a local user may reach their own network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any
from urllib.parse import urlsplit

from emotion.errors import SourceError

# socket.getaddrinfo's shape; tests pass a fake so nothing is looked up or contacted.
Resolver = Callable[..., list[tuple[Any, ...]]]
Address = tuple[str, int]  # (ip, port)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 reached through a NAT64 gateway
_URL_ARG = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


class BlockedAddressError(SourceError):
    """A link leads (directly or by a redirect) to an address inside the server's network."""


def address_kind(ip: str) -> str | None:
    """Why ``ip`` is not a public address ("loopback", "private", …), or None when it is."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        # IPv6 spellings of an IPv4 address reach that IPv4 address: judge it instead.
        embedded = addr.ipv4_mapped or addr.sixtofour or (addr.teredo or (None, None))[1]
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            return address_kind(str(embedded))
    for kind, flag in (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
    ):
        if flag:
            return kind
    # is_global also leaves out what the flags above do not name (100.64.0.0/10, the
    # carrier-grade NAT space, among others).
    return None if addr.is_global else "non-public"


def check_public_url(
    url: str, resolve: Resolver = socket.getaddrinfo, allow: Collection[Address] = ()
) -> None:
    """Refuse ``url`` (``BlockedAddressError``) when its host is or resolves to a non-public address.

    Every address the host resolves to must be public: a name with one private answer
    among public ones could be connected to the private one. ``allow`` lists (ip, port)
    pairs reachable anyway. A host that does not resolve passes: nothing can connect to it.
    """
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise SourceError(
            f"{url} is not a valid link ({e}); copy it again from the browser."
        ) from e
    if not host:
        raise SourceError(f"{url} is not a valid link (no host); copy it again from the browser.")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    if address_kind(host) != "not an IP address":
        ips = [host]  # a literal address: nothing to look up
    else:
        try:
            ips = [str(info[4][0]) for info in resolve(host, port, 0, socket.SOCK_STREAM)]
        except (OSError, UnicodeError):
            return
    for ip in ips:
        if (kind := address_kind(ip)) is not None and (ip, port) not in allow:
            raise BlockedAddressError(_refusal(ip, kind, host))


@contextlib.contextmanager
def public_only(allow: Collection[Address] = ()) -> Iterator[None]:
    """In this thread, refuse every connection to a non-public address (and URLs to subprocesses).

    A refused connection raises ``BlockedAddressError`` from the ``connect`` call, before
    any packet is sent. Other threads are not affected. ``allow`` lists (ip, port) pairs
    reachable anyway.
    """
    _install_hook()
    previous = getattr(_state, "allow", None)
    _state.allow = frozenset(allow)
    try:
        yield
    finally:
        _state.allow = previous


_state = threading.local()  # .allow: the guarded thread's exceptions; None: not guarded
_hook_lock = threading.Lock()
_hook_installed = False


def _install_hook() -> None:
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # for the life of the process; idle outside public_only
            _hook_installed = True


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        allow = getattr(_state, "allow", None)
        if allow is None:
            return
        sock, address = args
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # a Unix socket is not a way onto the network
        ip, port = str(address[0]), int(address[1])
        if (kind := address_kind(ip)) is not None and (ip, port) not in allow:
            raise BlockedAddressError(_refusal(ip, kind))
    elif event == "subprocess.Popen":
        if getattr(_state, "allow", None) is None:
            return
        argv = args[1] if isinstance(args[1], list | tuple) else [args[1]]
        if any(_URL_ARG.match(str(a)) for a in argv):
            raise BlockedAddressError(
                "This link needs ffmpeg to fetch it from the network, which shared mode does "
                "not allow; download the video yourself and upload the file."
            )


def _refusal(ip: str, kind: str, host: str | None = None) -> str:
    where = f"{host} is {ip}" if host and host != ip else f"The link leads to {ip}"
    return (
        f"{where} ({kind} address, not on the public internet) and shared mode opens public "
        "links only; paste a public link or upload the file."
    )
