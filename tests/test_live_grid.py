"""The live window grid: the VOD grid over pushed chunks, and gaps no window spans."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.live.grid import LiveCells, LiveGrid
from emotion.scoring.highlights import cell_timeline
from emotion.scoring.windows import iter_windows

SR = 1000  # a small rate keeps the arrays small; the grid is rate-agnostic


def _pushed(grid: LiveGrid, audio: np.ndarray, rng: np.random.Generator):
    out, at = [], 0
    while at < audio.size:
        n = int(rng.integers(1, 3 * SR))
        out += grid.push(audio[at : at + n])
        at += n
    return out + grid.finish()


@pytest.mark.parametrize("duration_s", [4.0, 10.0, 31.7, 32.4, 60.0])
def test_live_windows_are_the_vod_windows(duration_s: float) -> None:
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(round(duration_s * SR)).astype(np.float32)
    offline = list(iter_windows([audio], SR, 10.0, 2.5))
    live = _pushed(LiveGrid(SR, 10.0, 2.5), audio, rng)
    assert [w.index for w in live] == [w.index for w in offline]
    assert [w.start_s for w in live] == [w.start_s for w in offline]
    for a, b in zip(live, offline, strict=True):
        np.testing.assert_array_equal(a.samples, b.samples)


def test_windows_overlapping_a_gap_have_no_audio() -> None:
    grid = LiveGrid(SR, 10.0, 2.5)
    first = grid.push(np.ones(21 * SR, dtype=np.float32))
    assert [w.start_s for w in first] == [0.0, 2.5, 5.0, 7.5, 10.0]
    start_s, end_s, settled = grid.gap(7.0)  # nothing came from 21 s to 28 s
    assert (start_s, end_s) == (21.0, 28.0)
    # windows 12.5 … 27.5 overlap [21, 28): none of them holds audio
    assert [w.start_s for w in settled] == [12.5, 15.0, 17.5, 20.0, 22.5, 25.0, 27.5]
    assert all(w.samples is None for w in settled)
    after = grid.push(np.full(15 * SR, 2.0, dtype=np.float32))  # 28 … 43 s
    assert [w.start_s for w in after] == [30.0, 32.5]
    assert all(w.samples is not None and np.all(w.samples == 2.0) for w in after)
    assert grid.position_s == 43.0


def test_the_grid_resumes_after_a_restart() -> None:
    grid = LiveGrid(SR, 10.0, 2.5, first_index=4)  # 4 windows stored before a kill
    assert grid.position_s == 10.0
    _, _, settled = grid.gap(12.0)  # what the dead run heard past them, and the downtime
    assert [w.index for w in settled] == [4, 5, 6, 7, 8]
    assert grid.push(np.ones(12 * SR, dtype=np.float32))[0].index == 9


@pytest.mark.parametrize("duration_s", [0.6, 4.0, 21.0, 23.7])
def test_live_cells_are_the_vods_cells_and_a_resume_keeps_them(duration_s: float) -> None:
    rng = np.random.default_rng(4)
    n_windows = len(list(iter_windows([np.zeros(round(duration_s * SR))], SR, 10.0, 2.5)))
    rows = rng.dirichlet(np.ones(3), n_windows)
    starts, scores = cell_timeline(rows, 2.5, 10.0, duration_s)
    cells = LiveCells(10.0, 2.5)
    live = [cells.push(i, row) for i, row in enumerate(rows)] + cells.finish(duration_s)
    assert [t for t, _ in live] == starts.tolist()
    np.testing.assert_allclose(np.stack([c for _, c in live]), scores, atol=1e-12)
    # a monitor resumed at window 3 with the stored windows before it: the same cells
    if n_windows <= 3:
        return
    resumed = LiveCells(10.0, 2.5, 3, earlier=rows[:3])
    after = [resumed.push(i, rows[i]) for i in range(3, n_windows)] + resumed.finish(duration_s)
    assert [t for t, _ in after] == starts[3:].tolist()
    np.testing.assert_allclose(
        np.stack([c for _, c in after]).reshape(-1, 3), scores[3:].reshape(-1, 3), atol=1e-12
    )
