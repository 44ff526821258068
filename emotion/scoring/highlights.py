"""From per-window probabilities to highlights: smoothing, hysteresis, min length, merge gap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotion.errors import HypelineError
from emotion.scoring.windows import TAIL_MIN_S


@dataclass(frozen=True, slots=True)
class Highlight:
    """A moment found for one label; ``score`` is the peak probability inside it."""

    label: str
    start_s: float
    end_s: float
    peak_s: float
    score: float


@dataclass(frozen=True)
class HighlightSettings:
    """How probabilities become highlights (seconds are of the VOD)."""

    threshold: float = 0.5
    # A run starts at ``threshold`` and lasts while the probability stays at or above
    # ``threshold - hysteresis``, so a score hovering near the threshold is one highlight.
    hysteresis: float = 0.1
    min_duration_s: float = 0.0
    merge_gap_s: float = 5.0
    top_k: int | None = None  # the k best highlights over all labels, or all of them
    smoothing_s: float = 0.0  # moving average over the timeline, 0 = none

    def check(self) -> None:
        if not 0 < self.threshold < 1:
            raise HypelineError("The threshold is a probability; give a number between 0 and 1.")
        for name in ("hysteresis", "min_duration_s", "merge_gap_s", "smoothing_s"):
            if getattr(self, name) < 0:
                raise HypelineError(f"{name} cannot be negative; use 0 to turn it off.")
        if self.top_k is not None and self.top_k < 1:
            raise HypelineError(
                "Keep at least 1 top highlight (or set no limit to keep every highlight)."
            )


def cell_timeline(
    window_scores: np.ndarray, hop_s: float, window_s: float, duration_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities per hop-cell from per-window probabilities.

    The VOD is cut into cells ``[k·hop_s, (k+1)·hop_s)``; each cell gets the mean of the
    windows whose span contains the cell's midpoint (with a 10 s window and a 5 s hop,
    the two windows that overlap it). A last cell shorter than ``TAIL_MIN_S`` is left out,
    as the window grid leaves out such a tail (codec padding must not add a cell).
    Returns ``(cell_starts_s, scores[n_cells, n])``.
    """
    n_windows = window_scores.shape[0]
    n_cells = max(1, int(np.ceil((duration_s - TAIL_MIN_S) / hop_s + 1e-9)))
    starts = np.arange(n_cells) * hop_s
    mids = np.minimum(starts + hop_s / 2, duration_s)
    # window i covers [i·hop, i·hop + window): those with i·hop <= mid < i·hop + window
    last = np.minimum(np.floor(mids / hop_s).astype(int), n_windows - 1)
    first = np.maximum(np.floor((mids - window_s) / hop_s).astype(int) + 1, 0)
    first = np.minimum(first, last)
    cumulative = np.vstack([np.zeros((1, window_scores.shape[1])), np.cumsum(window_scores, 0)])
    scores = (cumulative[last + 1] - cumulative[first]) / (last - first + 1)[:, None]
    return starts, scores


def find_highlights(
    labels: Sequence[str],
    cell_starts_s: np.ndarray,
    cell_scores: np.ndarray,
    hop_s: float,
    duration_s: float,
    settings: HighlightSettings,
) -> list[Highlight]:
    """Highlights for ``labels`` (the first columns of ``cell_scores``), by start time."""
    settings.check()
    found: list[Highlight] = []
    for j, label in enumerate(labels):
        scores = smooth(cell_scores[:, j], settings.smoothing_s, hop_s)
        for first, last in _runs(scores, settings, hop_s):
            start_s = float(cell_starts_s[first])
            end_s = float(min(cell_starts_s[last] + hop_s, duration_s))
            if end_s - start_s < settings.min_duration_s:
                continue
            peak = first + int(np.argmax(scores[first : last + 1]))
            found.append(
                Highlight(
                    label=label,
                    start_s=start_s,
                    end_s=end_s,
                    peak_s=float(min(cell_starts_s[peak] + hop_s / 2, duration_s)),
                    score=float(scores[peak]),
                )
            )
    if settings.top_k is not None:
        found = sorted(found, key=lambda h: -h.score)[: settings.top_k]
    return sorted(found, key=lambda h: (h.start_s, h.label))


def smooth(scores: np.ndarray, smoothing_s: float, hop_s: float) -> np.ndarray:
    """Moving average over ``smoothing_s`` of a cell timeline (one column)."""
    n = round(smoothing_s / hop_s)
    if n <= 1:
        return scores
    kernel = np.ones(n) / n
    # 'same'-size moving average; edges average over the cells that exist
    return np.convolve(scores, kernel, "same") / np.convolve(np.ones_like(scores), kernel, "same")


def _runs(scores: np.ndarray, settings: HighlightSettings, hop_s: float) -> list[tuple[int, int]]:
    """Cell index ranges ``[first, last]`` above threshold, with hysteresis and merging."""
    low = settings.threshold - settings.hysteresis
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for k, p in enumerate(scores):
        if start is None and p >= settings.threshold:
            start = k
        elif start is not None and p < low:
            runs.append((start, k - 1))
            start = None
    if start is not None:
        runs.append((start, len(scores) - 1))
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged and (first - merged[-1][1] - 1) * hop_s <= settings.merge_gap_s:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def with_moments(
    highlights: Sequence[Highlight], moments: Sequence[tuple[str, float, float]]
) -> list[Highlight]:
    """The highlights with the moments kept by hand (label, start_s, end_s) among them.

    A moment overlapping a highlight of its label is that highlight (one event is one row,
    not two; ``overlaps_moment`` counts it as kept), so the highlight stays as found, its
    review key with it. Any other moment has no probability of its own and scores 1, as
    sure as a pick can be. Time order, like ``find_highlights``.
    """
    added = [
        Highlight(label, start_s, end_s, peak_s=start_s, score=1.0)
        for label, start_s, end_s in moments
        if not any(h.label == label and h.start_s < end_s and start_s < h.end_s for h in highlights)
    ]
    return sorted([*highlights, *added], key=lambda h: (h.start_s, h.label))


def overlaps_moment(highlight: Highlight, moments: Sequence[tuple[str, float, float]]) -> bool:
    """Whether a moment kept by hand of the highlight's label lies (partly) inside it."""
    return any(
        label == highlight.label and start_s < highlight.end_s and highlight.start_s < end_s
        for label, start_s, end_s in moments
    )
