from __future__ import annotations

import numpy as np
import pytest

from emotion.errors import HypelineError
from emotion.scoring.highlights import Highlight, HighlightSettings, cell_timeline, find_highlights


def test_each_cell_is_the_mean_of_the_windows_covering_it() -> None:
    # 23 s, window 10, hop 5: windows start at 0, 5, 10, 15; cells at 0, 5, 10, 15, 20
    window_scores = np.array([[0.0], [1.0], [0.5], [0.25]])
    starts, cells = cell_timeline(window_scores, hop_s=5, window_s=10, duration_s=23)
    assert starts.tolist() == [0, 5, 10, 15, 20]
    assert cells[:, 0].tolist() == [0.0, 0.5, 0.75, 0.375, 0.25]


def test_hysteresis_merge_and_peak() -> None:
    starts = np.arange(12) * 5.0
    p = np.array([0.1, 0.6, 0.45, 0.7, 0.2, 0.1, 0.55, 0.1, 0.1, 0.1, 0.9, 0.9])
    settings = HighlightSettings(threshold=0.5, hysteresis=0.1, merge_gap_s=0)
    found = find_highlights(["hype"], starts, p[:, None], 5.0, 58.0, settings)
    assert found == [
        Highlight("hype", 5.0, 20.0, 17.5, 0.7),  # 0.45 stays in (>= 0.4): one run
        Highlight("hype", 30.0, 35.0, 32.5, 0.55),
        Highlight("hype", 50.0, 58.0, 52.5, 0.9),  # clipped to the duration
    ]
    merged = find_highlights(
        ["hype"], starts, p[:, None], 5.0, 58.0, HighlightSettings(merge_gap_s=10)
    )
    assert [(h.start_s, h.end_s) for h in merged] == [(5.0, 35.0), (50.0, 58.0)]


def test_min_duration_top_k_and_labels_only() -> None:
    starts = np.arange(6) * 5.0
    scores = np.array([[0.9, 0.1], [0.1, 0.8], [0.1, 0.8], [0.6, 0.1], [0.1, 0.1], [0.1, 0.1]])
    settings = HighlightSettings(min_duration_s=6, merge_gap_s=0)
    assert [
        (h.label, h.start_s) for h in find_highlights(["a", "b"], starts, scores, 5, 30, settings)
    ] == [("b", 5.0)]
    top = find_highlights(
        ["a", "b"], starts, scores, 5, 30, HighlightSettings(top_k=2, merge_gap_s=0)
    )
    assert [(h.label, h.score) for h in top] == [("a", 0.9), ("b", 0.8)]  # by start time
    # only the first column (the label) is searched: column 1 here is background
    assert {
        h.label for h in find_highlights(["a"], starts, scores, 5, 30, HighlightSettings())
    } == {"a"}


def test_smoothing_averages_neighbouring_cells() -> None:
    starts = np.arange(5) * 5.0
    p = np.array([0.0, 0.0, 0.9, 0.0, 0.0])
    smoothed = find_highlights(
        ["x"], starts, p[:, None], 5, 25, HighlightSettings(threshold=0.25, smoothing_s=15)
    )
    assert [(h.start_s, h.end_s, round(h.score, 2)) for h in smoothed] == [(5.0, 20.0, 0.3)]


@pytest.mark.parametrize(
    "settings",
    [
        HighlightSettings(threshold=1.5),
        HighlightSettings(min_duration_s=-1),
        HighlightSettings(top_k=0),
    ],
)
def test_bad_settings(settings: HighlightSettings) -> None:
    with pytest.raises(HypelineError):
        find_highlights(["x"], np.zeros(1), np.zeros((1, 1)), 5, 5, settings)
