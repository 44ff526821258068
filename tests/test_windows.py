from __future__ import annotations

import numpy as np
import pytest

from emotion.errors import HypelineError
from emotion.scoring.windows import TAIL_MIN_S, expected_windows, iter_windows, window_count

SR = 10  # a tiny rate keeps the arithmetic readable


def chunks(n_samples: int, chunk: int) -> list[np.ndarray]:
    x = np.arange(n_samples, dtype=np.float32)
    return [x[i : i + chunk] for i in range(0, n_samples, chunk)]


@pytest.mark.parametrize("chunk", [1, 7, 30, 1000])
def test_grid_from_zero_with_one_partial_last_window(chunk: int) -> None:
    windows = list(iter_windows(chunks(230, chunk), SR, window_s=10, hop_s=5))  # 23 s
    assert [w.start_s for w in windows] == [0, 5, 10, 15]
    assert [w.samples.size for w in windows] == [100, 100, 100, 80]
    assert windows[3].samples[0] == 150 and windows[3].samples[-1] == 229
    assert [w.index for w in windows] == [0, 1, 2, 3]


def test_exact_fit_has_no_extra_window() -> None:
    windows = list(iter_windows(chunks(200, 64), SR, 10, 5))
    assert [w.start_s for w in windows] == [0, 5, 10]


def test_short_audio_is_one_partial_window_and_empty_audio_none() -> None:
    assert [w.samples.size for w in iter_windows(chunks(30, 8), SR, 10, 5)] == [30]
    assert list(iter_windows([], SR, 10, 5)) == []


def test_skipping_the_first_windows_for_resume() -> None:
    full = list(iter_windows(chunks(230, 16), SR, 10, 5))
    resumed = list(iter_windows(chunks(230, 16), SR, 10, 5, first_index=2))
    assert [w.index for w in resumed] == [2, 3]
    for a, b in zip(full[2:], resumed, strict=True):
        assert np.array_equal(a.samples, b.samples)


def test_bad_grid() -> None:
    with pytest.raises(HypelineError, match="longer than the window"):
        list(iter_windows(chunks(100, 10), SR, 5, 10))
    with pytest.raises(HypelineError, match="positive"):
        list(iter_windows(chunks(100, 10), SR, 0, 0))


def test_a_sliver_of_tail_adds_no_window_but_a_second_does() -> None:
    # 20.5 s: the last full window [10, 20) leaves 0.5 s, as codec padding would.
    assert [w.start_s for w in iter_windows(chunks(205, 16), SR, 10, 5)] == [0, 5, 10]
    # 21 s: a whole second after the last full window earns a partial one.
    windows = list(iter_windows(chunks(210, 16), SR, 10, 5))
    assert [(w.start_s, w.samples.size) for w in windows] == [
        (0, 100),
        (5, 100),
        (10, 100),
        (15, 60),
    ]
    assert TAIL_MIN_S == 1.0


def test_window_count_agrees_with_the_grid() -> None:
    for n in [0, 1, 5, 9, 10, 99, 100, 101, 109, 110, 111, 149, 150, 151, 159, 160, 161, 230]:
        for window_s, hop_s in [(10, 5), (10, 10), (10, 2.5), (3, 1)]:
            got = len(list(iter_windows(chunks(n, 7), SR, window_s, hop_s)))
            assert window_count(n, SR, window_s, hop_s) == got, (n, window_s, hop_s)
    assert expected_windows(150.011, 10, 5) == expected_windows(149.98, 10, 5) == 29
    assert expected_windows(None, 10, 5) is None
