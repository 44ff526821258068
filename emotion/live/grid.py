"""The window grid of a growing stream, with gaps: the grid of ``emotion.scoring.windows``, live.

Window ``i`` covers ``[i·hop_s, i·hop_s + window_s)`` of stream time, as a VOD's does,
so a live window holds the same samples as the offline window of the same audio. Stream
time runs with the audio received, plus the gaps: when the stream drops, the lost time
is a gap, and a window that overlaps a gap has no audio (``samples is None``; it is
stored as a zero vector, which no prompt matches) rather than audio spliced across the
hole. Memory is one window and one chunk, whatever the length of the stream or a gap.

``LiveCells`` turns the windows' probabilities into the cells a VOD's timeline and
highlights are cut from (``emotion.scoring.highlights.cell_timeline``), so a file read
live puts its moments at the times ``analyze`` puts them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from emotion.scoring.highlights import cell_timeline
from emotion.scoring.windows import TAIL_MIN_S, check_grid


@dataclass(frozen=True, slots=True)
class LiveWindow:
    index: int
    start_s: float
    samples: np.ndarray | None  # None: the window overlaps a gap
    received: float  # time.monotonic() of its last sample (0 for gap windows)


class LiveGrid:
    """Cut PCM pushed chunk by chunk into the windows it completes."""

    def __init__(
        self,
        sampling_rate: int,
        window_s: float,
        hop_s: float,
        first_index: int = 0,
    ) -> None:
        check_grid(window_s, hop_s)
        self.sampling_rate = sampling_rate
        self.window_n = round(window_s * sampling_rate)
        self.hop_n = round(hop_s * sampling_rate)
        self.next_index = first_index
        # Stream position (samples) of the next sample to arrive, and of buffer[0].
        self.position_n = first_index * self.hop_n
        self.buffer = np.zeros(0, dtype=np.float32)
        self.buffer_start = self.position_n
        self._pending: list[np.ndarray] = []  # pushed chunks not yet joined onto the buffer
        self._gap_end_n = 0  # windows starting before this overlap the last gap

    @property
    def position_s(self) -> float:
        return self.position_n / self.sampling_rate

    def push(self, samples: np.ndarray, received: float = 0.0) -> list[LiveWindow]:
        # Chunks wait in a list and are joined once a window is complete: a live read
        # delivers a few thousand samples at a time, and joining each onto a window-long
        # buffer would copy the window ~50 times a second.
        self._pending.append(samples)
        self.position_n += samples.size
        out: list[LiveWindow] = []
        if self._start(self.next_index) + self.window_n <= self.position_n:
            self._join()
        while self._start(self.next_index) + self.window_n <= self.position_n:
            out.append(self._take(received))
        return out

    def _join(self) -> None:
        if self._pending:
            self.buffer = np.concatenate([self.buffer, *self._pending])
            self._pending = []

    def gap(self, seconds: float) -> tuple[float, float, list[LiveWindow]]:
        """``seconds`` of stream time without audio; its span and the windows it settles."""
        start_n = self.position_n
        self.position_n += max(0, round(seconds * self.sampling_rate))
        self._gap_end_n = self.position_n
        out: list[LiveWindow] = []
        # Every window not yet cut that starts before the gap's end overlaps it.
        while self._start(self.next_index) < self.position_n:
            out.append(self._gap_window())
        self.buffer = np.zeros(0, dtype=np.float32)
        self._pending = []
        self.buffer_start = self.position_n
        return start_n / self.sampling_rate, self.position_s, out

    def finish(self) -> list[LiveWindow]:
        """The partial tail window, when the audio runs ``TAIL_MIN_S`` past the last full one."""
        self._join()
        start_n = self._start(self.next_index)
        last_full_end = start_n - self.hop_n + self.window_n if self.next_index else 0
        tail_n = self.position_n - max(last_full_end, self._gap_end_n)
        first = self.next_index == 0
        if start_n >= self.position_n or not (
            tail_n > 0 if first else tail_n >= TAIL_MIN_S * self.sampling_rate
        ):
            return []
        if start_n < self._gap_end_n:
            return [self._gap_window()]
        offset = start_n - self.buffer_start
        window = LiveWindow(
            self.next_index, start_n / self.sampling_rate, self.buffer[offset:].copy(), 0.0
        )
        self.next_index += 1
        return [window]

    def _start(self, index: int) -> int:
        return index * self.hop_n

    def _take(self, received: float) -> LiveWindow:
        start_n = self._start(self.next_index)
        if start_n < self._gap_end_n:
            return self._gap_window()
        offset = start_n - self.buffer_start
        window = LiveWindow(
            self.next_index,
            start_n / self.sampling_rate,
            self.buffer[offset : offset + self.window_n],
            received,
        )
        self.next_index += 1
        drop = min(self._start(self.next_index) - self.buffer_start, self.buffer.size)
        if drop > 0:
            self.buffer, self.buffer_start = self.buffer[drop:], self.buffer_start + drop
        return window

    def _gap_window(self) -> LiveWindow:
        window = LiveWindow(
            self.next_index, self._start(self.next_index) / self.sampling_rate, None, 0.0
        )
        self.next_index += 1
        return window


class LiveCells:
    """The cell timeline of ``cell_timeline``, computed as the windows come.

    Cell ``k`` covers ``[k·hop_s, (k+1)·hop_s)`` and scores the mean of the windows over
    its midpoint, the newest of which is window ``k``: once window ``k`` is in, cell ``k``
    has the VOD's value. The cells past the last window's start wait for ``finish`` and
    the stream's duration. It keeps only the few windows a cell needs.
    """

    def __init__(
        self,
        window_s: float,
        hop_s: float,
        first_index: int = 0,
        earlier: np.ndarray | None = None,
    ) -> None:
        """``earlier``: the probabilities of the windows before ``first_index`` (a resumed
        analysis's last stored ones), so its first cells average what a VOD's would."""
        check_grid(window_s, hop_s)
        self.window_s, self.hop_s = window_s, hop_s
        keep = math.ceil(window_s / hop_s) + 1  # more than the windows over one midpoint
        self._rows: deque[np.ndarray] = deque(maxlen=keep)
        if earlier is not None:
            self._rows.extend(earlier[-keep:])
        self._last = first_index - 1  # the newest window's index

    def push(self, index: int, probabilities: np.ndarray) -> tuple[float, np.ndarray]:
        """Window ``index``'s probabilities (every window, in order); cell ``index``."""
        if index != self._last + 1:
            raise ValueError(f"window {index} came after window {self._last}")
        self._rows.append(probabilities)
        self._last = index
        open_end_s = (index + 1) * self.hop_s + self.window_s  # no midpoint clipped yet
        _, scores = self._cells(open_end_s)
        return index * self.hop_s, scores[len(self._rows) - 1]

    def finish(self, duration_s: float) -> list[tuple[float, np.ndarray]]:
        """The cells after the last window's start, for a stream of ``duration_s``."""
        if not self._rows:
            return []
        first, scores = self._cells(duration_s)
        return [
            (k * self.hop_s, scores[k - first]) for k in range(self._last + 1, first + len(scores))
        ]

    def _cells(self, duration_s: float) -> tuple[int, np.ndarray]:
        """The index of the first kept window, and the cells from it on (its own grid from 0)."""
        first = self._last - len(self._rows) + 1
        _, scores = cell_timeline(
            np.stack(self._rows), self.hop_s, self.window_s, duration_s - first * self.hop_s
        )
        return first, scores
