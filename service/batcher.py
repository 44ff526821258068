"""Micro-batching: clips from concurrent requests share forward passes of the one model.

One thread owns the audio tower. A request queues its waveform and awaits a future; the
thread takes the first clip waiting, gathers more for at most ``wait_s`` or until
``max_batch`` are in hand, and embeds them in one pass. Under load this turns many
requests into full batches instead of many model copies; alone, a request waits
``wait_s`` at most. ``max_batch=1`` is batch-of-one serving (the benchmark's baseline).
A clip's embedding does not depend on its batch neighbours (``Clap.embed_audio``), so
batched answers equal sequential ones.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from emotion.model import Clap


@dataclass(frozen=True, slots=True)
class _Request:
    waveform: np.ndarray
    future: Future[np.ndarray]


class MicroBatcher:
    """``embed(waveform)`` → a future of its unit embedding, computed in a shared batch."""

    def __init__(self, clap: Clap, max_batch: int = 16, wait_s: float = 0.005):
        self.clap = clap
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.batches = 0  # forward passes so far
        self.clips = 0  # clips embedded so far
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hypeline-batcher")
        self._thread.start()

    def embed(self, waveform: np.ndarray) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        self._queue.put(_Request(waveform, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, stop = self._gather(first)
            try:
                vectors = self.clap.embed_audio([r.waveform for r in batch])
            except Exception as e:  # handed to every waiter, whose request answers it
                for r in batch:
                    r.future.set_exception(e)
            else:
                for r, vector in zip(batch, vectors, strict=True):
                    r.future.set_result(vector)
                self.batches += 1
                self.clips += len(batch)
            if stop:
                return

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        batch = [first]
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False
