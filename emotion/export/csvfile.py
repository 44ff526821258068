"""``highlights.csv``: one row per highlight, for spreadsheets."""

from __future__ import annotations

import csv
from pathlib import Path

from emotion.analysis import Analysis
from emotion.clock import clock_ms
from emotion.export.timefmt import by_start
from emotion.scoring.highlights import Highlight

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
# Added when the analysis has a chat replay (without one the file is as it always was).
CHAT_HEADER = ("chat_messages", "chat_rate_vs_baseline", "chat_top")


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.csv``: seconds to the millisecond, plus ``h:mm:ss.mmm`` for people;
    with chat, its reaction to each (``chat_top``: the top emotes and keywords, by spaces)."""
    has_chat = analysis.chat is not None
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER + CHAT_HEADER if has_chat else HEADER)
        for h in by_start(analysis.highlights):
            chat = _chat_cells(h) if has_chat else []
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
                    *chat,
                ]
            )
    return []


def _chat_cells(h: Highlight) -> list[str]:
    if h.chat is None:
        return ["", "", ""]
    return [str(h.chat.messages), f"{h.chat.rate_vs_baseline:.2f}", " ".join(h.chat.top)]
