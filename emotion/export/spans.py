"""The stretch of the source a short or a reel part shows: its highlight widened to 3 s or
cut around its peak (``short_span``), then its edges moved to the quietest point within
±2 s (``quiet_edges``), so it never cuts into a shout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion.export.post_settings import MIN_SHORT_S
from emotion.media.audio import load_segment
from emotion.scoring.highlights import Highlight

EDGE_SEARCH_S = 2.0
QUIET_TOLERANCE_DB = 3.0  # edges move to the nearest point this close to the quietest
EDGE_SR = 8000  # enough to find a quiet point, cheap to decode


def short_span(h: Highlight, duration_s: float | None, max_s: float) -> tuple[float, float]:
    """The stretch a short shows: the highlight, widened around its centre to 3 s or cut
    to ``max_s`` around its peak, and kept inside the source."""
    start_s, end_s = h.start_s, h.end_s
    if end_s - start_s > max_s:
        centre = min(max(h.peak_s, start_s + max_s / 2), end_s - max_s / 2)
        start_s, end_s = centre - max_s / 2, centre + max_s / 2
    elif end_s - start_s < MIN_SHORT_S:
        centre = (start_s + end_s) / 2
        start_s, end_s = centre - MIN_SHORT_S / 2, centre + MIN_SHORT_S / 2
    length_s = end_s - start_s
    if duration_s:
        length_s = min(length_s, duration_s)
        start_s = min(max(start_s, 0.0), duration_s - length_s)
    else:
        start_s = max(start_s, 0.0)
    return start_s, start_s + length_s


def quiet_edges(
    path: Path,
    audio_track: int,
    start_s: float,
    end_s: float,
    duration_s: float | None,
    max_s: float,
) -> tuple[float, float]:
    """``start_s`` and ``end_s`` moved to the nearest quiet point within ±2 s (quiet: within
    3 dB of the quietest there), keeping the short 3 s to ``max_s`` long and in the source."""
    limit_s = duration_s if duration_s else end_s + EDGE_SEARCH_S
    lo = max(0.0, start_s - EDGE_SEARCH_S)
    hi = min(limit_s, end_s + EDGE_SEARCH_S)
    audio = load_segment(path, EDGE_SR, lo, hi - lo, audio_track)
    times, level_db = _levels(audio, lo)
    if not len(times):
        return start_s, end_s
    new_start = _quietest_near(
        times,
        level_db,
        start_s,
        start_s - EDGE_SEARCH_S,
        min(start_s + EDGE_SEARCH_S, end_s - MIN_SHORT_S),
    )
    new_start = max(0.0, new_start)
    new_end = _quietest_near(
        times,
        level_db,
        end_s,
        max(end_s - EDGE_SEARCH_S, new_start + MIN_SHORT_S),
        min(end_s + EDGE_SEARCH_S, new_start + max_s, limit_s),
    )
    return new_start, min(new_end, limit_s)


def _levels(audio: np.ndarray, offset_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Loudness in dB of 50 ms frames every 10 ms, and the frames' centre times."""
    frame, hop = EDGE_SR // 20, EDGE_SR // 100
    if len(audio) < frame:
        return np.zeros(0), np.zeros(0)
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    starts = np.arange(0, len(audio) - frame + 1, hop)
    mean_sq = (energy[starts + frame] - energy[starts]) / frame
    return offset_s + (starts + frame / 2) / EDGE_SR, 10 * np.log10(mean_sq + 1e-12)


def _quietest_near(
    times: np.ndarray, level_db: np.ndarray, edge_s: float, lo_s: float, hi_s: float
) -> float:
    """The point nearest ``edge_s`` in ``lo_s..hi_s`` that is about as quiet as the quietest."""
    inside = (times >= lo_s) & (times <= hi_s)
    if not inside.any():
        return edge_s
    quiet = inside & (level_db <= level_db[inside].min() + QUIET_TOLERANCE_DB)
    nearest = np.argmin(np.where(inside, np.abs(times - edge_s), np.inf))
    if quiet[nearest] and lo_s <= edge_s <= hi_s:
        return edge_s  # already quiet: stay on the highlight's own edge
    candidates = times[quiet]
    return float(candidates[np.argmin(np.abs(candidates - edge_s))])
