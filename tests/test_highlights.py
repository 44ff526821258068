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


def _loud_bed(seed: int = 5) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """A 30-minute VOD whose bed scores 0.4-0.6 on the prompt throughout (game music that
    always sounds half like it), with three real events of 15-20 s at 0.85-0.95."""
    rng = np.random.default_rng(seed)
    hop_s, n = 5.0, 360
    p = rng.uniform(0.4, 0.6, n)
    events = [(300.0, 320.0), (900.0, 915.0), (1500.0, 1520.0)]
    for start_s, end_s in events:
        cells = slice(int(start_s / hop_s), int(end_s / hop_s))
        p[cells] = rng.uniform(0.85, 0.95, cells.stop - cells.start)
    return np.arange(n) * hop_s, p[:, None], events


def test_on_a_loud_bed_absolute_floods_and_relative_finds_exactly_the_three() -> None:
    starts, cells, events = _loud_bed()
    # 0.5 sits inside the bed: the whole stream is one "highlight" (the bed never falls
    # below 0.5 - hysteresis), and without hysteresis or merging dozens of false ones.
    absolute = find_highlights(["crowd cheering"], starts, cells, 5.0, 1800.0, HighlightSettings())
    assert [(h.start_s, h.end_s) for h in absolute] == [(0.0, 1800.0)]
    strict = HighlightSettings(hysteresis=0.0, merge_gap_s=0.0)
    assert len(find_highlights(["crowd cheering"], starts, cells, 5.0, 1800.0, strict)) > 40
    relative = HighlightSettings.on_scale("relative")
    assert (relative.threshold, relative.hysteresis) == (4.0, 1.0)
    found = find_highlights(["crowd cheering"], starts, cells, 5.0, 1800.0, relative)
    assert [(h.start_s, h.end_s) for h in found] == events
    for h in found:
        assert 0.85 <= h.score <= 0.95 and h.usual == pytest.approx(0.5, abs=0.02)
        assert h.relative is not None and h.relative > 4.0
        assert h.why().startswith(f"crowd cheering {h.score:.2f} (×1.")
        assert h.why().endswith(" this stream's usual)")


def test_per_prompt_thresholds_override_the_default_for_their_prompt() -> None:
    starts = np.arange(6) * 5.0
    cells = np.array([[0.1, 0.1], [0.45, 0.45], [0.45, 0.45], [0.1, 0.1], [0.65, 0.65], [0.1, 0.1]])
    settings = HighlightSettings(threshold=0.6, per_prompt=(("laughter", 0.4),), merge_gap_s=0)
    found = find_highlights(["laughter", "scream"], starts, cells, 5.0, 30.0, settings)
    assert [(h.label, h.start_s, h.end_s) for h in found] == [
        ("laughter", 5.0, 15.0),
        ("laughter", 20.0, 25.0),
        ("scream", 20.0, 25.0),
    ]
    assert settings.threshold_for("scream") == 0.6 and settings.threshold_for("laughter") == 0.4


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("0.5", (0.5, ())),
        (
            "laughter=0.4, jump scare scream=0.7",
            (None, (("laughter", 0.4), ("jump scare scream", 0.7))),
        ),
        ("0.55,  laughter = 0.4 ,", (0.55, (("laughter", 0.4),))),
    ],
)
def test_thresholds_parse_a_default_and_per_prompt_values(text: str, parsed: tuple) -> None:
    from emotion.scoring.highlights import parse_thresholds

    assert parse_thresholds(text) == parsed


@pytest.mark.parametrize(
    ("settings", "labels", "message"),
    [
        (
            HighlightSettings(per_prompt=(("lauhgter", 0.4),)),
            ["laughter"],
            'No prompt is called "lauhgter"; a threshold names a prompt as given (laughter).',
        ),
        (
            HighlightSettings(per_prompt=(("laughter", 1.4),)),
            ["laughter"],
            'The threshold for "laughter" is a probability; give a number between 0 and 1.',
        ),
        (
            HighlightSettings.on_scale("relative", threshold=-2.0),
            ["laughter"],
            "The relative threshold counts spreads above the stream's usual level; give a "
            "number above 0 (e.g. 4).",
        ),
        (
            HighlightSettings(scale="loudest"),
            ["laughter"],
            "The scale is absolute or relative, not 'loudest'.",
        ),
    ],
)
def test_bad_thresholds_are_one_sentence(settings: HighlightSettings, labels, message) -> None:
    with pytest.raises(HypelineError) as e:
        settings.check(labels)
    assert str(e.value) == message


def test_a_bad_threshold_text_is_one_sentence() -> None:
    from emotion.scoring.highlights import parse_thresholds

    with pytest.raises(HypelineError, match=r'^"laughter=lots" is not a threshold; give a number'):
        parse_thresholds("0.5, laughter=lots")


def test_on_a_quiet_stream_relative_does_not_turn_blips_into_highlights() -> None:
    rng = np.random.default_rng(8)
    p = rng.uniform(0.0, 0.05, 360)
    p[[40, 200]] = 0.15  # blips a probability of 0.15 does not make an event
    found = find_highlights(
        ["scream"],
        np.arange(360) * 5.0,
        p[:, None],
        5.0,
        1800.0,
        HighlightSettings.on_scale("relative"),
    )
    assert found == []


def test_relative_finds_a_flat_streams_own_outliers_that_absolute_leaves_out() -> None:
    # The README's reason for the default: 0.25 is no "scream" by the model's word, yet on
    # a prompt otherwise at 0-0.05 it stands 4.5 spreads above the stream's usual level.
    rng = np.random.default_rng(8)
    p = rng.uniform(0.0, 0.05, 360)
    p[[40, 41, 200]] = 0.25
    starts = np.arange(360) * 5.0
    relative = find_highlights(
        ["scream"], starts, p[:, None], 5.0, 1800.0, HighlightSettings.on_scale("relative")
    )
    assert [(h.start_s, h.end_s) for h in relative] == [(200.0, 210.0), (1000.0, 1005.0)]
    assert all(h.relative == pytest.approx(4.54, abs=0.01) for h in relative)
    assert find_highlights(["scream"], starts, p[:, None], 5.0, 1800.0, HighlightSettings()) == []
