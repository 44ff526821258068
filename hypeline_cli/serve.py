"""``hypeline serve``: the HTTP API. The only importer of ``service/``, the web face."""

from __future__ import annotations

import argparse

from hypeline_cli.common import add_model_args
from service.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_BATCH,
    MAX_JOBS,
    MAX_LABELS,
    MAX_UPLOAD_BYTES,
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="the HTTP API (FastAPI; OpenAPI docs at /docs)",
        description="Serve classify, match and analyses over HTTP, with one model loaded once.",
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}; any other needs an API key)",
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--api-key", help="required as 'Authorization: Bearer KEY' (default: $HYPELINE_API_KEY)"
    )
    serve.add_argument(
        "--media-root",
        action="append",
        metavar="FOLDER",
        help="a folder whose files clients may analyse by path (repeatable; default none)",
    )
    serve.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let links reach loopback, private and link-local addresses (refused by default)",
    )
    limits = serve.add_argument_group("limits")
    limits.add_argument(
        "--max-upload-mb",
        type=float,
        default=MAX_UPLOAD_BYTES / 2**20,
        help=f"largest clip upload, MB (default {MAX_UPLOAD_BYTES // 2**20})",
    )
    limits.add_argument(
        "--max-labels",
        type=int,
        default=MAX_LABELS,
        help=f"labels per request (default {MAX_LABELS})",
    )
    limits.add_argument(
        "--max-jobs",
        type=int,
        default=MAX_JOBS,
        help=f"analyses queued or running at once (default {MAX_JOBS})",
    )
    limits.add_argument(
        "--max-batch",
        type=int,
        default=MAX_BATCH,
        help="clips per forward pass when requests arrive together; 1 turns "
        f"micro-batching off (default {MAX_BATCH})",
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    add_model_args(serve)
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from service.server import serve  # the web stack and the model: only when serving

    return serve(args)
