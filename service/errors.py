"""Every refusal as ``{"error": "one sentence"}`` with its HTTP status; never a traceback.

The library's ``HypelineError`` family already says what to do; here each kind gets the
status a client expects. Anything else is logged here and answered with a generic
sentence, so no internal path or stack trace reaches a client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from emotion.errors import (
    AudioError,
    BusyError,
    Cancelled,
    ExportError,
    HypelineError,
    LabelError,
    SourceError,
    StoreError,
)

log = logging.getLogger("service")


class ApiError(HypelineError):
    """A refusal of the service itself, with its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# The first match wins: subclasses before their parents.
_STATUS: tuple[tuple[type[HypelineError], int], ...] = (
    (LabelError, 422),
    (AudioError, 415),
    (SourceError, 400),
    (ExportError, 400),
    (BusyError, 409),
    (Cancelled, 409),
    (StoreError, 500),
)

_GENERIC = {
    400: "The request is malformed; check it against the API documentation at /docs.",
    401: "A valid API key is required; send it as 'Authorization: Bearer <key>'.",
    404: "Nothing is here; the API's paths are listed at /docs.",
    405: "This path does not take that method; the API's methods are listed at /docs.",
    413: "The request is too large; send less.",
    500: "The server failed on this request; try again, and report it if it keeps happening.",
}


def without_folders(message: str, folders: Iterable[Path]) -> str:
    """``message`` without this server's folders (ffmpeg and the library quote full paths)."""
    for folder in folders:
        message = message.replace(f"file:{folder}{os.sep}", "").replace(f"{folder}{os.sep}", "")
        message = message.replace(str(folder), "the media folder")
    return message


def status_of(error: HypelineError) -> int:
    if isinstance(error, ApiError):
        return error.status
    return next((s for kind, s in _STATUS if isinstance(error, kind)), 400)


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error its JSON sentence."""

    @app.exception_handler(HypelineError)
    async def hypeline(_: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, HypelineError)
        return error_response(status_of(e), str(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, RequestValidationError)
        # A body that is not JSON at all is malformed (400); valid JSON with wrong fields is 422.
        malformed = any(err.get("type") == "json_invalid" for err in e.errors())
        return error_response(400 if malformed else 422, describe_validation(e))

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, e: Exception) -> JSONResponse:
        assert isinstance(e, StarletteHTTPException)
        detail = e.detail if isinstance(e.detail, str) and e.detail.endswith(".") else None
        return error_response(e.status_code, detail or _GENERIC.get(e.status_code, _GENERIC[400]))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, _GENERIC[500])


def describe_validation(e: RequestValidationError) -> str:
    """Pydantic's first complaint as a sentence a client can act on."""
    errors = e.errors()
    if not errors:
        return _GENERIC[400]
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "The body is not valid JSON; send a JSON object as documented at /docs."
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    what = str(first.get("msg", "is invalid")).rstrip(".")
    field = f"'{where}'" if where else "The body"
    return f"{field}: {what}; fix it as documented at /docs."
