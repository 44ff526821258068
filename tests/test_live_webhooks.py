"""Webhooks against a local receiver: JSON, Discord's shape, HMAC signatures, 429 retried."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emotion.errors import HypelineError
from emotion.live.alerts import Alert
from emotion.live.webhooks import SIGNATURE_HEADER, WebhookSender, check_webhook, is_discord

ALERT = Alert("a whistle", 0.93, 62.5, "2026-11-21T20:00:00.000Z", 7, "http://127.0.0.1/live.m3u8")


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[tuple[int, bytes]] = []  # queued answers; 204 when empty
        self.lock = threading.Lock()


@contextlib.contextmanager
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with rec.lock:
                rec.got.append((self.path, dict(self.headers), body))
                status, answer = rec.answers.pop(0) if rec.answers else (204, b"")
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield rec, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_json_and_discord_payloads_with_valid_signatures() -> None:
    with receiver() as (rec, base):
        plain, discord = f"{base}/hooks/hypeline", f"{base}/api/webhooks/123/token-abc"
        sender = WebhookSender([plain, discord], secret="s3cret")
        sender.send(ALERT)
        sender.close()
    assert sender.sent == 2 and sender.failed == 0
    (p_path, p_headers, p_body), (d_path, d_headers, d_body) = rec.got
    assert (p_path, d_path) == ("/hooks/hypeline", "/api/webhooks/123/token-abc")
    assert json.loads(p_body) == ALERT.to_dict()
    message = json.loads(d_body)
    assert "a whistle" in message["content"] and "1:02" in message["content"]
    (embed,) = message["embeds"]
    assert embed["title"] == "a whistle" and embed["timestamp"] == ALERT.detected_at
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "score": "0.93",
        "stream time": "1:02",
    }
    for headers, body in ((p_headers, p_body), (d_headers, d_body)):
        # how a receiver verifies: HMAC-SHA256 of the raw body with the shared secret
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)


def test_a_429_is_retried_after_the_wait_it_asks_for() -> None:
    waits: list[float] = []
    with receiver() as (rec, base):
        rec.answers = [(429, b'{"retry_after": 0.25, "global": false}'), (500, b"")]
        sender = WebhookSender([f"{base}/api/webhooks/1/x"], sleep=waits.append)
        sender.send(ALERT)
        sender.close()
    assert len(rec.got) == 3 and sender.sent == 1  # 429, 500, then delivered
    assert waits == [0.25, 2.0]  # Discord's retry_after, then the backoff's second step
    assert SIGNATURE_HEADER not in rec.got[0][1]  # no secret, no signature


def test_failures_are_reported_never_raised() -> None:
    notes: list[str] = []
    with receiver() as (rec, base):
        rec.answers = [(404, b"")]
        sender = WebhookSender([f"{base}/gone"], on_note=notes.append, sleep=lambda s: None)
        sender.send(ALERT)
        sender.close()
    assert len(rec.got) == 1 and sender.failed == 1  # a 404 is not retried
    assert notes == ["webhook to 127.0.0.1 failed for the alert a whistle (HTTP 404)"]


def test_urls_are_checked() -> None:
    with pytest.raises(HypelineError, match="not an http"):
        check_webhook("ftp://example.com/hook")
    assert is_discord("https://discord.com/api/webhooks/1/abc")
    assert not is_discord("https://example.com/webhooks/1/abc")
