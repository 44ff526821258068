"""yt-dlp's failures as one sentence each, saying what to do (private, geo-blocked, gone,
unreachable, cut short, disk full…), read from its exception chain and its own words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from emotion.errors import SourceError
from emotion.media.netguard import BlockedAddressError
from emotion.paths import downloads_dir

REASON_MAX_CHARS = 200  # of yt-dlp's own words quoted in our messages
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

_GONE = re.compile(
    r"private|unavailable|not available|removed|deleted|terminated|members[- ]only|"
    r"sign in|log ?in to|confirm your age|age[- ]restricted|copyright",
    re.IGNORECASE,
)
_NO_MEDIA = re.compile(r"unsupported url|no video formats|no media|no formats", re.IGNORECASE)
_CUT_SHORT = re.compile(r"bytes read|more expected|content too short|incomplete", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"connection refused|failed to resolve|name or service not known|getaddrinfo|"
    r"nodename nor servname|timed out|network is unreachable|no route to host|"
    r"connection reset|remote end closed",
    re.IGNORECASE,
)


def explain(error: Exception, url: str) -> SourceError:
    """The one sentence for what yt-dlp raised while opening ``url``."""
    # yt-dlp's modules are imported when a link is opened, never for a local file (fetch)
    from yt_dlp.networking.exceptions import HTTPError, IncompleteRead, SSLError, TransportError
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    host = urlsplit(url).hostname or url
    chain = list(_causes(error))
    reason = _first_line(error)

    if blocked := next((c for c in chain if isinstance(c, BlockedAddressError)), None):
        return blocked  # a redirect or a page's media led into the server's network

    if any(isinstance(c, UnsupportedError) for c in chain) or _NO_MEDIA.search(reason):
        return no_media(url)
    if any(isinstance(c, GeoRestrictedError) for c in chain):
        return SourceError(
            f"The video at {url} is not available in your country; open it from where it is."
        )
    if http := next((c for c in chain if isinstance(c, HTTPError)), None):
        status = http.status
        if status in (401, 403, 404, 410):
            return SourceError(
                f"The video at {url} is private, removed or not found (HTTP {status}); "
                "check the link and that the video is public."
            )
        return SourceError(f"{host} answered with an error (HTTP {status}); try again later.")
    if any(isinstance(c, IncompleteRead) for c in chain) or _CUT_SHORT.search(reason):
        return SourceError(
            f"The download from {host} stopped before the end; run it again to resume."
        )
    if any(isinstance(c, SSLError) for c in chain):
        return SourceError(
            f"Could not make a secure connection to {host}; check the link and your connection."
        )
    if any(isinstance(c, TransportError) for c in chain) or _UNREACHABLE.search(reason):
        return SourceError(f"Could not reach {host}; check the link and your connection.")
    if "no space left" in reason.lower():
        return SourceError(
            f"The disk holding {downloads_dir()} is full; free some space or set "
            "HYPELINE_HOME to a folder on a bigger disk."
        )
    if _GONE.search(reason):
        return SourceError(
            f"The video at {url} is private, removed or not available ({reason}); "
            "check the link and that the video is public."
        )
    return SourceError(
        f"Could not get the video at {url} ({reason}); check the link, "
        "or update yt-dlp with `pip install -U yt-dlp`."
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps: yt-dlp's exc_info/cause/handler errors, Python's chain."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        exc_info = getattr(e, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            todo.append(cause)
        # NoSupportingHandlers: what each request handler hit (theirs, and ours raised
        # from inside a connection, e.g. BlockedAddressError).
        for name in ("unexpected_errors", "unsupported_errors"):
            todo += [x for x in getattr(e, name, None) or () if isinstance(x, BaseException)]
        todo += [e.__cause__, e.__context__]


def _first_line(error: BaseException) -> str:
    """yt-dlp's message without "ERROR: [extractor] id:" and without what follows a newline."""
    text = _ANSI.sub("", str(getattr(error, "orig_msg", None) or error)).replace("\r", "")
    text = re.sub(r"^\s*ERROR:\s*", "", text)
    line = text.strip().splitlines()[0] if text.strip() else ""
    if (m := re.match(r"^\[[^\]]+\]\s*", line)) is not None:
        line = re.sub(r"^[^:\s]+:\s+", "", line[m.end() :])  # "[youtube] <id>: ..."
    line = re.sub(r"\s*\(caused by .*$", "", line).strip().rstrip(".")
    if len(line) > REASON_MAX_CHARS:
        line = line[: REASON_MAX_CHARS - 1].rstrip() + "…"
    return line or type(error).__name__


def no_media(url: str) -> SourceError:
    return SourceError(
        f"No video or audio found at {url}; paste the link of the video page itself."
    )


def playlist(url: str) -> SourceError:
    return SourceError(
        f"{url} is a playlist or channel, not one video; paste the link of a single video."
    )
