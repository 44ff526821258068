"""One loaded model, many callers: their audio becomes shared forward passes.

``Batcher`` owns the model on one thread. A caller queues waveforms (``submit`` gives a
future, ``embed`` waits for a list) and the thread takes the first one waiting, gathers
more for at most ``wait_s`` or until ``max_batch`` are in hand, and embeds them in one
pass. Under load (API requests, live monitors, analyses, all at once) this turns many
callers into fuller batches instead of more model copies or threads fighting over the
cores; alone, a caller waits ``wait_s`` at most. ``max_batch=1`` is batch-of-one serving.

The wait is chosen by device (``wait_for``): a GPU's pass is short, so the first caller
waits 5 ms for company to fill it; a CPU's pass takes a tenth of a second or more, so the
callers that arrive meanwhile are already queued when it ends, and waiting would only
delay a lone caller. bench/bench_api.py (int8, 2 cores, 10 s clips): waiting 5 ms served a
lone client at 0.50-0.72x batch-of-one's requests/s and 8 clients at 1.27-1.73x.

A clip's embedding does not depend on its batch neighbours (``Clap.embed_audio``), so
batching changes the speed, never the numbers. Text prompts go through the same thread
(the model's text tower, with its cache).
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the model module imports torch (seconds); the CLI's help needs none
    from emotion.model.clap import Clap

DEFAULT_MAX_BATCH = 16
GPU_WAIT_S = 0.005  # how long a GPU batch's first caller waits for company
CPU_WAIT_S = 0.0  # a CPU batch takes what queued during the pass before it


def wait_for(device_type: str) -> float:
    """The gathering wait for a model on ``device_type`` (``torch.device.type``)."""
    return CPU_WAIT_S if device_type == "cpu" else GPU_WAIT_S


@dataclass(frozen=True, slots=True)
class _Work:
    item: np.ndarray | list[str]  # a waveform, or prompts for the text tower
    future: Future[np.ndarray]


class Batcher:
    """The model's thread; every method may be called from any thread."""

    def __init__(
        self, clap: Clap, max_batch: int = DEFAULT_MAX_BATCH, wait_s: float | None = None
    ) -> None:
        """``wait_s``: None chooses it by the model's device (``wait_for``)."""
        self.clap = clap
        self.max_batch = max(1, max_batch)
        self.wait_s = wait_for(clap.device.type) if wait_s is None else wait_s
        self.batches = 0  # audio forward passes so far
        self.clips = 0  # waveforms embedded so far
        self._queue: queue.Queue[_Work | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True, name="hypeline-batcher")
        self._thread.start()

    @property
    def name(self) -> str:
        return self.clap.name

    @property
    def sampling_rate(self) -> int:
        return self.clap.sampling_rate

    def submit(self, waveform: np.ndarray) -> Future[np.ndarray]:
        """A future of ``waveform``'s unit embedding, computed in a shared batch."""
        future: Future[np.ndarray] = Future()
        self._queue.put(_Work(waveform, future))
        return future

    def embed(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """``[n, dim]`` audio embeddings, computed in the shared batches (waits for them)."""
        futures = [self.submit(w) for w in waveforms]
        if not futures:
            return np.zeros((0, self.clap.embedding_dim), dtype=np.float32)
        return np.stack([f.result() for f in futures])

    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """Text embeddings (cached by the model), on the model's thread."""
        future: Future[np.ndarray] = Future()
        self._queue.put(_Work(list(prompts), future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, stop = self._gather(first)
            audio = [(w.item, w.future) for w in batch if isinstance(w.item, np.ndarray)]
            for work in batch:
                if isinstance(work.item, list):
                    _settle(work.future, functools.partial(self.clap.embed_text, work.item))
            if audio:
                try:
                    vectors = self.clap.embed_audio([waveform for waveform, _ in audio])
                except BaseException as e:  # handed to every waiter, whose caller answers it
                    for _, future in audio:
                        future.set_exception(e)
                else:
                    self.batches += 1
                    self.clips += len(audio)
                    for (_, future), vector in zip(audio, vectors, strict=True):
                        future.set_result(vector)
            if stop:
                return

    def _gather(self, first: _Work) -> tuple[list[_Work], bool]:
        batch = [first]
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                work = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if work is None:
                return batch, True
            batch.append(work)
        return batch, False


def _settle(future: Future[np.ndarray], work: Callable[[], np.ndarray]) -> None:
    try:
        future.set_result(work())
    except BaseException as e:
        future.set_exception(e)
