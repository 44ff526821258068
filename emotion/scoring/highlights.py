"""From per-window probabilities to highlights: smoothing, hysteresis, min length, merge gap.

Two scales to judge a prompt's timeline on. ``absolute``: its probability. ``relative``:
how far above this VOD's usual level for that prompt it is, in units of the VOD's usual
spread (a robust z-score: (p − median) / (1.4826 · MAD)), so a stream whose game music
always sounds half like "crowd cheering" is judged against itself. Thresholds (one, and
per prompt) are in the scale's own units; each highlight carries its probability, the
prompt's usual level on this VOD and the relative score, whichever scale found it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emotion.errors import HypelineError, LabelError
from emotion.scoring.windows import TAIL_MIN_S

if TYPE_CHECKING:  # chat/ is this stage's neighbour: its reactions import the window grid
    from emotion.chat.series import Reaction


@dataclass(frozen=True, slots=True)
class Highlight:
    """A moment found for one label; ``score`` is the peak probability inside it."""

    label: str
    start_s: float
    end_s: float
    peak_s: float
    score: float
    # Why it is one (not what it is: left out of ==): the label's median probability over
    # this VOD, and the peak in spreads above it (the relative scale's units).
    usual: float | None = field(default=None, compare=False)
    relative: float | None = field(default=None, compare=False)
    # How chat answered it (emotion.chat.judge), when the analysis has a chat replay.
    chat: Reaction | None = field(default=None, compare=False)

    def why(self) -> str:
        """One line on why it is a highlight: "crowd cheering 0.82 (×3.1 this stream's usual)",
        with chat: "… · chat ×4.1, 37 messages, KEKW"."""
        line = f"{self.label} {self.score:.2f}"
        if self.usual is not None and self.usual > 0 and self.score > self.usual:
            line += f" (×{self.score / self.usual:.1f} this stream's usual)"
        if self.chat is not None:
            line += f" · {self.chat.why()}"
        return line


ABSOLUTE, RELATIVE = "absolute", "relative"
SCALES = (ABSOLUTE, RELATIVE)
# The relative scale's defaults, in spreads above the VOD's usual level (see the README's
# evidence: a bed at 0.4-0.6 throughout and three events).
RELATIVE_THRESHOLD = 4.0
RELATIVE_HYSTERESIS = 1.0
# The smallest spread a prompt is measured in: a prompt that is flat on a VOD (always
# about 0) must not turn a 0.03 blip into dozens of spreads.
MIN_SPREAD = 0.05
MAX_RELATIVE_THRESHOLD = 100.0


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
    scale: str = ABSOLUTE  # what thresholds measure: ABSOLUTE probability, or RELATIVE
    per_prompt: tuple[tuple[str, float], ...] = ()  # (label, threshold) beside ``threshold``

    @classmethod
    def on_scale(cls, scale: str, **rules: object) -> HighlightSettings:
        """The settings of ``scale`` with its own default threshold and hysteresis."""
        if scale == RELATIVE:
            rules = {"threshold": RELATIVE_THRESHOLD, "hysteresis": RELATIVE_HYSTERESIS, **rules}
        return cls(scale=scale, **rules)  # type: ignore[arg-type]

    def threshold_for(self, label: str) -> float:
        return dict(self.per_prompt).get(label, self.threshold)

    def check(self, labels: Sequence[str] | None = None) -> None:
        """Sound rules; with ``labels``, every per-prompt threshold names one of them."""
        if self.scale not in SCALES:
            raise HypelineError(f"The scale is absolute or relative, not {self.scale!r}.")
        for label, value in (("", self.threshold), *self.per_prompt):
            _check_threshold(value, self.scale, label)
        if labels is not None:
            for label, _ in self.per_prompt:
                if label not in labels:
                    raise LabelError(
                        f'No prompt is called "{label}"; a threshold names a prompt as given '
                        f"({', '.join(labels)})."
                    )
        for name in ("hysteresis", "min_duration_s", "merge_gap_s", "smoothing_s"):
            if getattr(self, name) < 0:
                raise HypelineError(f"{name} cannot be negative; use 0 to turn it off.")
        if self.top_k is not None and self.top_k < 1:
            raise HypelineError(
                "Keep at least 1 top highlight (or set no limit to keep every highlight)."
            )


def _check_threshold(value: float, scale: str, label: str) -> None:
    of = f' for "{label}"' if label else ""
    if scale == ABSOLUTE and not 0 < value < 1:
        raise HypelineError(f"The threshold{of} is a probability; give a number between 0 and 1.")
    if scale == RELATIVE and not 0 < value <= MAX_RELATIVE_THRESHOLD:
        raise HypelineError(
            f"The relative threshold{of} counts spreads above the stream's usual level; "
            f"give a number above 0 (e.g. {RELATIVE_THRESHOLD:g})."
        )


def parse_thresholds(text: str) -> tuple[float | None, tuple[tuple[str, float], ...]]:
    """``"0.5"``, ``"laughter=0.4, jump scare scream=0.7"`` or both (``"0.5, laughter=0.4"``)
    → (the default or None, the per-prompt values); prompts are named as given."""
    default: float | None = None
    per_prompt: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            raise HypelineError(
                f'"{part}" is not a threshold; give a number, or prompt=number '
                '(e.g. "0.5, laughter=0.4").'
            ) from None
        if not name:
            default = number
        else:
            per_prompt[" ".join(name.split())] = number
    return default, tuple(per_prompt.items())


def relative_scores(scores: np.ndarray) -> tuple[np.ndarray, float]:
    """One prompt's timeline in spreads above its usual level, and that level (the median)."""
    usual = float(np.median(scores))
    spread = max(1.4826 * float(np.median(np.abs(scores - usual))), MIN_SPREAD)
    return (scores - usual) / spread, usual


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
    settings.check(labels)
    found: list[Highlight] = []
    for j, label in enumerate(labels):
        scores = smooth(cell_scores[:, j], settings.smoothing_s, hop_s)
        relative, usual = relative_scores(scores)
        judged = relative if settings.scale == RELATIVE else scores
        threshold = settings.threshold_for(label)
        for first, last in _runs(judged, threshold, settings, hop_s):
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
                    usual=usual,
                    relative=float(relative[peak]),
                )
            )
    if settings.top_k is not None:
        rank = (
            (lambda h: -(h.relative or 0.0)) if settings.scale == RELATIVE else (lambda h: -h.score)
        )
        found = sorted(found, key=rank)[: settings.top_k]
    return sorted(found, key=lambda h: (h.start_s, h.label))


def smooth(scores: np.ndarray, smoothing_s: float, hop_s: float) -> np.ndarray:
    """Moving average over ``smoothing_s`` of a cell timeline (one column)."""
    n = round(smoothing_s / hop_s)
    if n <= 1:
        return scores
    kernel = np.ones(n) / n
    # 'same'-size moving average; edges average over the cells that exist
    return np.convolve(scores, kernel, "same") / np.convolve(np.ones_like(scores), kernel, "same")


def _runs(
    scores: np.ndarray, threshold: float, settings: HighlightSettings, hop_s: float
) -> list[tuple[int, int]]:
    """Cell index ranges ``[first, last]`` above threshold, with hysteresis and merging."""
    low = threshold - settings.hysteresis
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for k, p in enumerate(scores):
        if start is None and p >= threshold:
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
