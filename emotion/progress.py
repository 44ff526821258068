"""Progress of long work, reported through a callback (the library never prints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A step of long work: ``fraction`` in [0, 1], None when the total is unknown."""

    stage: str  # "download" | "embed" | "wait" (another process embeds) | "clips"
    fraction: float | None
    message: str
    eta_s: float | None = None


ProgressFn = Callable[[Progress], None]
