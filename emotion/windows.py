"""A fixed grid of windows from t=0 over streamed PCM, never holding more than one window.

Window ``i`` covers ``[i·hop_s, i·hop_s + window_s)``. The grid stops at the first window
that reaches the end of the audio; that last window may be partial (the model pads it
the way the checkpoint was trained), every earlier one is full.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from emotion.errors import HypelineError


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    start_s: float
    samples: np.ndarray


def check_grid(window_s: float, hop_s: float) -> None:
    if not window_s > 0 or not hop_s > 0:
        raise HypelineError("--window and --hop must be positive numbers of seconds.")
    if hop_s > window_s:
        raise HypelineError(
            f"--hop ({hop_s:g} s) is longer than --window ({window_s:g} s), which would skip "
            "audio; use a hop no longer than the window."
        )


def iter_windows(
    chunks: Iterable[np.ndarray],
    sampling_rate: int,
    window_s: float,
    hop_s: float,
    first_index: int = 0,
) -> Iterator[Window]:
    """Cut a stream of PCM chunks into windows; those before ``first_index`` are skipped."""
    check_grid(window_s, hop_s)
    window_n = round(window_s * sampling_rate)
    hop_n = round(hop_s * sampling_rate)
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]
    index = 0
    for chunk in chunks:
        buffer = np.concatenate([buffer, chunk])
        while buffer.size - (index * hop_n - buffer_start) >= window_n:
            offset = index * hop_n - buffer_start
            if index >= first_index:
                yield Window(
                    index, index * hop_n / sampling_rate, buffer[offset : offset + window_n]
                )
            index += 1
            # Drop what no later window needs, so memory stays one window + one chunk.
            drop = min(index * hop_n - buffer_start, buffer.size)
            buffer, buffer_start = buffer[drop:], buffer_start + drop
    # The tail: one last partial window, unless a full window already reached the end.
    # (Its start is inside the audio: the last full window ended before end_n.)
    end_n = buffer_start + buffer.size
    last_full_end = (index - 1) * hop_n + window_n if index else 0
    if end_n > last_full_end and index >= first_index:
        offset = index * hop_n - buffer_start
        yield Window(index, index * hop_n / sampling_rate, buffer[offset:].copy())
