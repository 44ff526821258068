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


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from one hour on."""
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )
