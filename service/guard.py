"""The door: API key and body size, checked before a byte of the body is read.

A pure ASGI middleware rather than FastAPI dependencies, because FastAPI parses a
multipart body before any dependency runs: a 100 MB upload without a key, or over the
limit, would be read in full before being refused.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNAUTHORIZED = "A valid API key is required; send it as 'Authorization: Bearer <key>'."


class Guard:
    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        if self.api_key and not self._authorized(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": UNAUTHORIZED})
            else:
                await _answer(send, 401, UNAUTHORIZED, {"www-authenticate": "Bearer"})
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, self._too_large())
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without a length (chunked) is counted as it arrives and cut at the limit."""
        seen = 0
        tripped = False

        async def counting_receive() -> Message:
            nonlocal seen, tripped
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    tripped = True
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if tripped:  # whatever the app says about a cut body, the answer is 413
                if not started:
                    started = True
                    await _answer(send, 413, self._too_large())
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not tripped:
                raise
            # The app may fail on the cut body (a client disconnect) before answering.
        if tripped and not started:
            await _answer(send, 413, self._too_large())

    def _authorized(self, scope: Scope) -> bool:
        given = _header(scope, b"authorization") or ""
        scheme, _, token = given.partition(" ")
        assert self.api_key is not None
        return scheme.lower() == "bearer" and secrets.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    def _too_large(self) -> str:
        mb = self.max_body_bytes / (1024 * 1024)
        return (
            f"The upload is larger than this server's limit of {mb:g} MB; send a shorter "
            "clip, or analyse long recordings by URL or by a path under the media folder."
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _answer(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"error": message}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
