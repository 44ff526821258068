"""One loaded model shared by every monitor: windows from many streams become one batch.

``SharedEmbedder`` runs the model on one thread. A monitor's ``embed(windows)`` queues
its windows and waits; the thread takes whatever is queued (up to ``max_batch``) into
one forward pass. A clip's embedding does not depend on its batch neighbours
(``Clap.embed_audio``), so batching changes the speed, never the numbers.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

from emotion.model import Clap

DEFAULT_MAX_BATCH = 16


class SharedEmbedder:
    """The model's thread; ``embed`` and ``embed_text`` may be called from any thread."""

    def __init__(self, clap: Clap, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.clap = clap
        self.max_batch = max(1, max_batch)
        self.batches = 0  # forward passes run, for tests and benchmarks
        self._queue: queue.Queue[tuple[np.ndarray | list[str], Future[np.ndarray]]] = queue.Queue()
        self._thread = threading.Thread(target=self._work, daemon=True, name="hypeline-embedder")
        self._thread.start()

    @property
    def name(self) -> str:
        return self.clap.name

    @property
    def sampling_rate(self) -> int:
        return self.clap.sampling_rate

    def embed(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """``[n, dim]`` audio embeddings, computed in the shared batches."""
        futures: list[Future[np.ndarray]] = []
        for w in waveforms:
            f: Future[np.ndarray] = Future()
            self._queue.put((w, f))
            futures.append(f)
        if not futures:
            return np.zeros((0, self.clap.embedding_dim), dtype=np.float32)
        return np.stack([f.result() for f in futures])

    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """Text embeddings (cached by the model), on the model's thread."""
        f: Future[np.ndarray] = Future()
        self._queue.put((list(prompts), f))
        return f.result()

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            audio = [(w, f) for w, f in batch if isinstance(w, np.ndarray)]
            for item, f in batch:
                if isinstance(item, list):
                    _settle(f, functools.partial(self.clap.embed_text, item))
            if audio:
                try:
                    vectors = self.clap.embed_audio([w for w, _ in audio])
                    self.batches += 1
                except BaseException as e:  # handed to every waiting caller
                    for _, f in audio:
                        f.set_exception(e)
                    continue
                for (_, f), v in zip(audio, vectors, strict=True):
                    f.set_result(v)


def _settle(future: Future[np.ndarray], work: Callable[[], np.ndarray]) -> None:
    try:
        future.set_result(work())
    except BaseException as e:
        future.set_exception(e)
