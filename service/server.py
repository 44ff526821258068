"""``python -m emotion serve``: load the model once, then serve it with uvicorn."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from emotion.errors import HypelineError
from emotion.model.clap import load_clap
from service.config import API_KEY_ENV, ServeConfig
from service.main import create_app


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    roots: list[Path] = []
    for root in args.media_root or []:
        path = Path(root).expanduser().resolve()
        if not path.is_dir():
            raise HypelineError(f"--media-root {root} is not a folder; give an existing folder.")
        roots.append(path)
    config = ServeConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key or os.environ.get(API_KEY_ENV, "").strip() or None,
        media_roots=tuple(roots),
        allow_private_urls=args.allow_private_urls,
        max_upload_bytes=round(args.max_upload_mb * 1024 * 1024),
        max_labels=args.max_labels,
        max_jobs=args.max_jobs,
        max_batch=args.max_batch,
    )
    config.check()
    return config


def serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # refusals before the model loads
    clap = load_clap(args.model, device=args.device, precision=args.precision)
    app = create_app(config, clap)
    print(f"Hypeline API on http://{config.host}:{config.port} (docs at /docs)", flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level=args.log_level)
    return 0
