"""What a server is allowed to do, fixed when it starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from emotion.errors import HypelineError
from emotion.model.batcher import DEFAULT_MAX_BATCH

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
API_KEY_ENV = "HYPELINE_API_KEY"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # clips; VODs come by URL or by a path under media_root
MAX_LABELS = 50  # per request: a text tower pass per new prompt, bounded per client
MAX_JOBS = 8  # analyses queued or running at once
# Clips per forward pass of the micro-batcher; 1 turns batching off. The same on every
# device (a GPU runs 16 clips in about the time of one, and a CPU's int8 GEMMs gain from
# fuller batches); the wait for company is the device's (model/batcher.py: wait_for).
MAX_BATCH = DEFAULT_MAX_BATCH


@dataclass(frozen=True)
class ServeConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str | None = None
    media_roots: tuple[Path, ...] = ()
    allow_private_urls: bool = False
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_labels: int = MAX_LABELS
    max_jobs: int = MAX_JOBS
    max_batch: int = MAX_BATCH
    batch_wait_s: float | None = None  # None: the device's (model/batcher.py: wait_for)
    home: Path | None = field(default=None)  # the store's folder; None: HYPELINE_HOME

    def check(self) -> None:
        """Refuse to listen beyond this machine without a key."""
        if not is_loopback(self.host) and not self.api_key:
            raise HypelineError(
                f"Listening on {self.host} lets other machines in; set an API key with "
                f"--api-key or {API_KEY_ENV}, or bind 127.0.0.1."
            )
        if self.max_batch < 1 or self.max_labels < 1 or self.max_jobs < 1:
            raise HypelineError("--max-batch, --max-labels and --max-jobs must be 1 or more.")
        if self.max_upload_bytes < 1:
            raise HypelineError("--max-upload-mb must be a positive number.")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything, so it needs a key
