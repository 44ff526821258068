"""``highlights.edl``: a CMX3600 EDL of markers, as DaVinci Resolve exports and imports them.

Resolve's marker EDL puts each marker on a 1-frame event at its position and carries the
marker in a note line: ``|C:`` colour, ``|M:`` name, ``|D:`` duration in frames. Import it
with Timeline → Import → Timeline Markers from EDL, on a timeline that starts at
00:00:00:00 (Resolve's default start is 01:00:00:00: change it first, or the markers land
an hour off). Timecode is non-drop-frame at the nearest whole rate (29.97 → 30).
"""

from __future__ import annotations

from pathlib import Path

from emotion.analysis import Analysis
from emotion.export.timefmt import by_start, fps_of, frame_duration, timecode, to_frames

RESOLVE_COLORS = (
    "Blue",
    "Cyan",
    "Green",
    "Yellow",
    "Red",
    "Pink",
    "Purple",
    "Fuchsia",
    "Rose",
    "Lavender",
    "Sky",
    "Mint",
    "Lemon",
    "Sand",
    "Cocoa",
    "Cream",
)


def label_colors(analysis: Analysis) -> dict[str, str]:
    """One Resolve marker colour per label, in the order of ``analysis.labels``, cycling."""
    order = list(dict.fromkeys([*analysis.labels, *(h.label for h in analysis.highlights)]))
    return {label: RESOLVE_COLORS[i % len(RESOLVE_COLORS)] for i, label in enumerate(order)}


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")  # "|" separates Resolve's note fields


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.edl`` at ``analysis.source.fps`` (30 when there is no video)."""
    frame = frame_duration(fps_of(analysis))
    timebase = round(1 / frame)
    colors = label_colors(analysis)
    lines = [
        f"TITLE: {_one_line(analysis.source.title) or 'Hypeline'}",
        "FCM: NON-DROP FRAME",
        "",
    ]
    for i, h in enumerate(by_start(analysis.highlights), start=1):
        start = to_frames(h.start_s, frame)
        tc_in, tc_out = timecode(start, timebase), timecode(start + 1, timebase)
        frames = max(1, to_frames(h.end_s, frame) - start)
        lines.append(f"{i:03d}  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  ")
        lines.append(
            f" |C:ResolveColor{colors[h.label]} |M:{_one_line(h.label)} ({h.score:.2f}) |D:{frames}"
        )
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return []
