"""Alerts to webhooks on a background thread, so a slow receiver never holds up the audio.

Each alert is queued and posted to every URL with a ``TIMEOUT_S`` timeout; a failure is
retried with backoff (1, 2, 4 s), an HTTP 429 after the ``retry_after`` it asks for
(Discord's JSON field, else the ``Retry-After`` header). Failures are reported through
``on_note`` and never stop the monitor.

A Discord webhook URL (``…/api/webhooks/<id>/<token>``) gets Discord's message format;
any other URL gets the alert object as JSON. With a secret, every request carries
``X-Hypeline-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body bytes with the
secret as key; a receiver recomputes it over the raw body and compares in constant time
(``hmac.compare_digest``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.live.alerts import Alert

TIMEOUT_S = 5.0
ATTEMPTS = 4
MAX_RETRY_AFTER_S = 60.0
QUEUE_SIZE = 1000  # alerts waiting; past it new ones are dropped (and said so)
SIGNATURE_HEADER = "X-Hypeline-Signature"
DISCORD_COLOR = 0xF5A623


def check_webhook(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HypelineError(
            f"The webhook {url!r} is not an http(s) URL; paste the full webhook URL."
        )
    return url.strip()


def is_discord(url: str) -> bool:
    """Discord's webhook URLs: ``https://discord.com/api/webhooks/<id>/<token>``."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return len(parts) >= 4 and parts[0] == "api" and parts[1] == "webhooks"


def payload(alert: Alert, url: str) -> dict[str, object]:
    """The body for ``url``: Discord's message format, or the alert object."""
    if not is_discord(url):
        return alert.to_dict()
    return {
        "content": f"Hypeline: **{alert.label}** at {clock(alert.stream_time_s)}",
        "embeds": [
            {
                "title": alert.label,
                "description": alert.source,
                "color": DISCORD_COLOR,
                "timestamp": alert.detected_at,
                "fields": [
                    {"name": "score", "value": f"{alert.score:.2f}", "inline": True},
                    {"name": "stream time", "value": clock(alert.stream_time_s), "inline": True},
                ],
            }
        ],
    }


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hypeline-Signature`` value of ``body``: ``sha256=`` and the HMAC's hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """One thread posting queued alerts to ``urls``; ``close()`` sends what is queued, then stops."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str | None = None,
        on_note: Callable[[str], None] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.urls = [check_webhook(u) for u in urls]
        self.secret = secret or None
        self.on_note = on_note or (lambda _note: None)
        self.sent = 0
        self.failed = 0
        self._sleep = sleep
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread = threading.Thread(target=self._work, daemon=True, name="hypeline-webhooks")
        if self.urls:
            self._thread.start()

    def send(self, alert: Alert) -> None:
        if not self.urls:
            return
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.on_note(f"webhooks are behind; the alert for {alert.label} was not sent")

    def close(self, timeout_s: float = 30.0) -> None:
        if self.urls and self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout_s)
            self._thread.join(timeout_s)

    def _work(self) -> None:
        while (alert := self._queue.get()) is not None:
            for url in self.urls:
                self._post(url, alert)

    def _post(self, url: str, alert: Alert) -> None:
        body = json.dumps(payload(alert, url), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "Hypeline"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        host = urlsplit(url).hostname
        why = ""
        for attempt in range(ATTEMPTS):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            wait_s = 2.0**attempt
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as r:
                    r.read(64 * 1024)
                self.sent += 1
                return
            except urllib.error.HTTPError as e:
                why = f"HTTP {e.code}"
                if e.code == 429:
                    wait_s = _retry_after(e) or wait_s
                elif 400 <= e.code < 500 and e.code != 408:
                    break  # the request itself is refused: retrying changes nothing
            except (urllib.error.URLError, OSError) as e:
                why = str(getattr(e, "reason", e))
            if attempt + 1 < ATTEMPTS:
                self._sleep(min(wait_s, MAX_RETRY_AFTER_S))
        self.failed += 1
        self.on_note(f"webhook to {host} failed for the alert {alert.label} ({why})")


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    """Seconds a 429 asks to wait: Discord's ``retry_after`` (JSON), else ``Retry-After``."""
    with contextlib.suppress(ValueError, OSError, TypeError, AttributeError):
        value = json.loads(error.read(64 * 1024) or b"{}").get("retry_after")
        if value is not None:
            return max(0.0, float(value))
    with contextlib.suppress(ValueError, TypeError):
        return max(0.0, float(error.headers.get("Retry-After", "")))
    return None
