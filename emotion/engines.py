"""How a batch's VODs become vectors: several decoded at once, one model, one writer.

An engine gives ``embed_source`` its ``Embedder`` (``emotion.analysis``) and says how many
VODs the batch keeps in flight (``lanes``); ``run_batch`` runs that many VODs at once,
each through the face's runner, each still embedded and stored by ``embed_source`` under
its own lease, so the library has one writer per analysis and resumes as ever.

* ``local`` (``LocalEngine``): ``decoders`` VODs at once in this process, each decoded by
  its own ffmpeg (a process: decoding costs the interpreter nothing) on its lane's thread,
  all feeding one model that embeds one batch at a time on its own thread
  (``ExclusiveModel``). A batch is the same windows it is in a solo analysis and is
  embedded alone, so the vectors are byte for byte a solo analysis's whatever the number
  of decoders; each lane holds at most ``PREFETCH_BATCHES`` + 1 batches, so memory is
  bounded by the decoders, not by the VODs.
* ``ray`` (``emotion.ray_engine.RayEngine``): decoding as Ray tasks, embedding in Ray
  actors, the vectors streamed back to this process, which writes the library.

Ray is imported only by ``open_engine("ray")`` (it takes a second and is optional).
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

import numpy as np

from emotion.analysis import Embedder, EmbedJob, decoding_embedder
from emotion.errors import EngineError
from emotion.media.audio import DecodeStats

if TYPE_CHECKING:  # the model module imports torch (seconds)
    from emotion.model.clap import Clap

LOCAL, RAY = "local", "ray"
ENGINES = (LOCAL, RAY)
DEFAULT_DECODERS = 2  # one VOD decoding while another's batches are embedded
RAY_MISSING = 'The Ray engine needs Ray, which is not installed; run pip install "hypeline[ray]".'


class Engine(Protocol):
    """What ``run_batch`` and its runner need of an engine."""

    @property
    def name(self) -> str: ...

    @property
    def lanes(self) -> int:
        """VODs in flight at once."""

    @property
    def batch_size(self) -> int | None:
        """Windows per batch when the face gives none (None: the model's default)."""

    @property
    def embedder(self) -> Embedder: ...

    def close(self) -> None: ...


class ExclusiveModel:
    """One model's ``embed_audio`` for several threads: one batch at a time, on a thread
    of its own.

    Each call is one forward pass of exactly the batch given (never merged with another
    caller's, as ``Batcher`` does for speed), so a batch's vectors are what a solo analysis
    computes for it, byte for byte. While one batch is embedded, the other lanes' ffmpeg
    keeps decoding. The model's own thread: on the busy 2-core development machine
    (torch 2.13, OpenMP), 6 passes of 8 windows of the tiny model took 3.1-11.9 s called
    from the main thread and 1.1 s from any other; the cause is not known, the
    measurement is (bench/bench_batch.py's seq-thread).
    """

    def __init__(self, embed: Callable[[list[np.ndarray]], np.ndarray]) -> None:
        self._embed = embed
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="hypeline-model")
        self.batches = 0
        self.windows = 0
        self.busy_s = 0.0  # time spent embedding: the model's share of the batch's time

    def __call__(self, waveforms: list[np.ndarray]) -> np.ndarray:
        return self._thread.submit(self._one, waveforms).result()

    def _one(self, waveforms: list[np.ndarray]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self._embed(waveforms)
        self.busy_s += time.perf_counter() - started
        self.batches += 1
        self.windows += len(waveforms)
        return vectors

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


class LocalEngine:
    """``decoders`` VODs decoded at once, one model in this process (module docstring)."""

    name = LOCAL
    batch_size = None

    def __init__(self, clap: Clap, decoders: int = DEFAULT_DECODERS) -> None:
        self.lanes = check_decoders(decoders)
        self.model = ExclusiveModel(clap.embed_audio)
        self.embedder = decoding_embedder(self.model)

    def close(self) -> None:
        self.model.close()


class Tally:
    """An embedder that counts the windows it embeds: what one VOD cost this run (a VOD
    already in the library costs 0, a resumed one what was missing)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.windows = 0

    def __call__(self, job: EmbedJob, decoded: DecodeStats) -> Generator[np.ndarray, None, None]:
        with contextlib.closing(self._embedder(job, decoded)) as batches:
            for vectors in batches:
                self.windows += len(vectors)
                yield vectors


def check_decoders(decoders: int) -> int:
    if decoders < 1:
        raise EngineError("The number of decoders counts VODs decoded at once; give 1 or more.")
    return decoders


def check_engine(name: str, address: str | None = None) -> None:
    """Refuse what cannot run before any model loads: an unknown engine, an address for
    the local one, the Ray engine without Ray (looked up, not imported)."""
    if name not in ENGINES:
        raise EngineError(f"There is no {name!r} engine; use one of {', '.join(ENGINES)}.")
    if address is not None and name != RAY:
        raise EngineError(
            "A Ray address is for the Ray engine; ask for that engine, or leave the address out."
        )
    if name == RAY and not _ray_installed():
        raise EngineError(RAY_MISSING)


def _ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except ValueError:  # sys.modules["ray"] is None: an import of it fails
        return False


@contextlib.contextmanager
def open_engine(
    name: str,
    clap: Clap,
    *,
    decoders: int = DEFAULT_DECODERS,
    address: str | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Iterator[Engine]:
    """The engine ``name`` for ``clap``'s analyses, closed (its actors, a Ray instance it
    started) on leaving."""
    check_engine(name, address)
    engine: Engine
    if name == RAY:
        from emotion.ray_engine import RayEngine  # imports ray: only for this engine

        engine = RayEngine(clap, address=address, decoders=decoders, on_note=on_note)
    else:
        engine = LocalEngine(clap, decoders)
    try:
        yield engine
    finally:
        engine.close()
