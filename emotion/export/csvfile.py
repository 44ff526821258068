"""``highlights.csv``: one row per highlight, for spreadsheets."""

from __future__ import annotations

import csv
from pathlib import Path

from emotion.analysis import Analysis
from emotion.clock import clock_ms
from emotion.export.timefmt import by_start

HEADER = (
    "label",
    "start_s",
    "end_s",
    "peak_s",
    "score",
    "start",
    "end",
    "usual",
    "relative",
    "why",
)


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.csv``: seconds to the millisecond, plus ``h:mm:ss.mmm`` for people."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for h in by_start(analysis.highlights):
            out.writerow(
                [
                    h.label,
                    f"{h.start_s:.3f}",
                    f"{h.end_s:.3f}",
                    f"{h.peak_s:.3f}",
                    f"{h.score:.4f}",
                    clock_ms(h.start_s),
                    clock_ms(h.end_s),
                    "" if h.usual is None else f"{h.usual:.4f}",
                    "" if h.relative is None else f"{h.relative:.2f}",
                    h.why(),
                ]
            )
    return []
