"""A fixed grid of windows from t=0 over streamed PCM, never holding more than one window.

Window ``i`` covers ``[i·hop_s, i·hop_s + window_s)``. Every window is full except,
possibly, the last: a partial tail window is added only when the audio runs at least
``TAIL_MIN_S`` past the end of the last full window (or when the audio is shorter than
one window, so that every clip gets one). Codec priming and padding move a file's end
by a few tens of ms (up to ~0.3 s for AAC or MP3 at 8 kHz) and differ between ffmpeg
builds; a 1 s threshold keeps such a sliver from adding a window that repeats the one
before it, so the grid is the same whichever ffmpeg decoded the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from emotion.errors import HypelineError

TAIL_MIN_S = 1.0  # uncovered audio after the last full window that earns a partial window


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    start_s: float
    samples: np.ndarray


def check_grid(window_s: float, hop_s: float) -> None:
    if not window_s > 0 or not hop_s > 0:
        raise HypelineError("The window and the hop must be positive numbers of seconds.")
    if hop_s > window_s:
        raise HypelineError(
            f"The hop ({hop_s:g} s) is longer than the window ({window_s:g} s), which would "
            "skip audio; use a hop no longer than the window."
        )


def window_count(n_samples: int, sampling_rate: int, window_s: float, hop_s: float) -> int:
    """How many windows ``iter_windows`` makes from ``n_samples`` of audio."""
    window_n, hop_n = round(window_s * sampling_rate), round(hop_s * sampling_rate)
    if n_samples <= 0:
        return 0
    if n_samples < window_n:
        return 1
    n_full = (n_samples - window_n) // hop_n + 1
    tail_n = n_samples - ((n_full - 1) * hop_n + window_n)
    return n_full + int(tail_n >= _tail_min_n(sampling_rate))


def expected_windows(duration_s: float | None, window_s: float, hop_s: float) -> int | None:
    """``window_count`` for a duration in seconds (e.g. what the container says)."""
    if not duration_s or not math.isfinite(duration_s):
        return None
    rate = 1000  # ms resolution is plenty for a count
    return window_count(round(duration_s * rate), rate, window_s, hop_s)


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
    # The tail (see the module's docstring). Its start is inside the audio: the last full
    # window ended before end_n.
    end_n = buffer_start + buffer.size
    last_full_end = (index - 1) * hop_n + window_n if index else 0
    tail_n = end_n - last_full_end
    earns_window = tail_n > 0 if index == 0 else tail_n >= _tail_min_n(sampling_rate)
    if earns_window and index >= first_index:
        offset = index * hop_n - buffer_start
        yield Window(index, index * hop_n / sampling_rate, buffer[offset:].copy())


def _tail_min_n(sampling_rate: int) -> int:
    return round(TAIL_MIN_S * sampling_rate)
