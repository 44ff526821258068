"""The Ray engine: VODs decoded as Ray tasks, embedded in Ray actors, stored by this process.

Ray Core (tasks and actors), not Ray Data. What makes the vectors byte-equal to a solo
analysis is that the model sees the very batches ``embed_source`` would make (the same
consecutive windows of one VOD, from where its analysis stopped); what keeps the library
sound is that one process appends each analysis's batches in order under its lease.
Ray Data re-blocks rows by size and across files, so keeping a batch a batch and a VOD's
batches in order would fight it at every step; with Core each VOD is one streaming task,
each batch one actor call, and its order is the driver's.

* ``ModelActor``: one per GPU of the cluster (``num_gpus=1``), else one per node on that
  node's CPUs. Each loads the model once, the driver's checkpoint in the driver's
  precision, so its vectors are the driver's model's and the analysis's key tells the truth.
* ``decode_batches``: one task per VOD (one ffmpeg pass, as a solo analysis decodes it:
  pieces decoded apart do not give the same samples), a streaming generator of batches
  of windows (each sent as the PCM it spans, ``Packed``), placed on its actor's node
  (softly) so that the PCM stays in that node's object store; Ray's generator
  backpressure keeps it ``PREFETCH_BATCHES`` ahead.
* ``RayEngine.embedder`` runs in the driver inside ``embed_source``: it hands each batch
  to the VOD's actor (``IN_FLIGHT`` at a time) and yields the vectors in order; only
  vectors (a few kB per window) come back over the network.

A node that dies takes its tasks and actors with it: Ray retries a decode task
(``TASK_RETRIES``) and restarts an actor elsewhere, retrying its calls
(``ACTOR_RETRIES``). What still fails ends that VOD with a sentence; the batches stored
stay, and the next run resumes from them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion.analysis import PREFETCH_BATCHES, EmbedJob, window_batches
from emotion.engines import DEFAULT_DECODERS, RAY, RAY_MISSING, check_decoders
from emotion.errors import EngineError, HypelineError
from emotion.media.audio import DecodeStats, stream_audio
from emotion.scoring.windows import iter_windows

if TYPE_CHECKING:
    from emotion.model.clap import Clap

IN_FLIGHT = 2  # batches of one VOD at its actor: one embedded, one waiting
DECODE_CPUS = 0.5  # one ffmpeg and the windowing, mostly waiting on the backpressure
TASK_RETRIES = 3
ACTOR_RETRIES = 3
ACTOR_START_S = 600.0  # a cluster with no room for the actors says so instead of hanging
# Ray starts its workers at niceness 15 (RAY_worker_niceness) so that its own daemons stay
# responsive. Here the workers are the work: at 15 the model's OpenMP team loses its cores
# to every nice-0 process (this one writing the library, Ray's daemons), and a pass waits
# for its slowest thread. Measured on 2 cores with the tiny model: the local engine's
# 41.9 windows/s against Ray's 33.6 at 15 (bench/bench_batch.py). An instance started here
# runs its workers at 0; a cluster's are what its `ray start` said.
WORKER_NICENESS = 0
GPU_BATCH = 64  # default_batch_size on CUDA


# A batch as it travels: the PCM its windows span once, and each window's (offset, length)
# in it. Windows overlap (a 10 s window every 5 s), so this is half the bytes of the
# windows themselves; slicing it again gives the very same samples.
Packed = tuple[np.ndarray, tuple[tuple[int, int], ...]]


@dataclass(frozen=True, slots=True)
class Decoded:
    """The end of a VOD's stream: how much audio came out, and how much of it was bad."""

    n_samples: int
    n_nonfinite: int


def decode_batches(job: EmbedJob) -> Iterator[Packed | Decoded]:
    """The Ray task: ``job``'s batches of windows, packed, then ``Decoded``."""
    decoded = DecodeStats()
    pcm = stream_audio(job.path, job.sampling_rate, track=job.track, stats=decoded)
    windows = iter_windows(
        pcm, job.sampling_rate, job.window_s, job.hop_s, first_index=job.first_index
    )
    hop_n = round(job.hop_s * job.sampling_rate)
    for batch in window_batches(windows, job.batch_size):
        layout = tuple(((w.index - batch[0].index) * hop_n, w.samples.size) for w in batch)
        span = np.empty(max(offset + n for offset, n in layout), dtype=np.float32)
        filled = 0  # each sample copied once: a window's overlap with the last is the same samples
        for (offset, n), w in zip(layout, batch, strict=True):
            if offset + n > filled:
                start = max(offset, filled)
                span[start : offset + n] = w.samples[start - offset :]
                filled = offset + n
        yield span, layout
    yield Decoded(decoded.n_samples, decoded.n_nonfinite)


def unpacked(packed: Packed) -> list[np.ndarray]:
    span, layout = packed
    return [span[offset : offset + n] for offset, n in layout]


class ModelActor:
    """The Ray actor: one model, loaded once, embedding the batches it is handed."""

    def __init__(self, model: str, device: str, precision: str, threads: int | None) -> None:
        import torch

        from emotion.model.clap import load_clap

        if threads:
            torch.set_num_threads(threads)
        # A sentence raised here would reach the driver as Ray's "actor died" text alone;
        # kept and raised by describe(), it comes back as itself.
        self._failed: HypelineError | None = None
        try:
            self.clap = load_clap(model, device=device, precision=precision)
        except HypelineError as e:
            self._failed = e
        # Off the worker's main thread, as the local engine's model (ExclusiveModel in
        # emotion/engines.py says why); one thread, so one batch at a time.
        self._model = ThreadPoolExecutor(1, thread_name_prefix="hypeline-model")

    def describe(self) -> dict[str, Any]:
        import ray

        if self._failed is not None:
            raise self._failed
        c = self.clap
        return {
            "model": c.name,
            "precision": c.precision,
            "dim": c.embedding_dim,
            "sampling_rate": c.sampling_rate,
            "node": ray.get_runtime_context().get_node_id(),
            "niceness": os.nice(0),
        }

    def embed(self, item: Packed | Decoded) -> np.ndarray | Decoded:
        """A batch's vectors; the stream's end as it came (so the driver hands every item
        of the stream on as it arrives, without looking at it first)."""
        if isinstance(item, Decoded):
            return item
        return self._model.submit(self.clap.embed_audio, unpacked(item)).result()


@dataclass
class _Slot:
    actor: Any  # a Ray actor handle of ModelActor
    node: str
    busy: int = 0  # VODs it is embedding now


class RayEngine:
    """Decoding tasks and model actors on a Ray cluster; this process writes the library."""

    name = RAY

    def __init__(
        self,
        clap: Clap,
        *,
        address: str | None = None,
        decoders: int = DEFAULT_DECODERS,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        try:
            import ray
        except ImportError as e:
            raise EngineError(RAY_MISSING) from e
        self._ray = ray
        check_decoders(decoders)
        self._started = False
        if ray.is_initialized():
            if address is not None and on_note is not None:
                on_note(f"Ray is already connected in this process; {address} is not used.")
        else:
            connect(ray, address)
            self._started = True  # shutdown stops an instance started here, or disconnects
        self._guard = threading.Lock()
        self._on_gpu = False
        try:
            self._slots = self._start_actors(clap)
        except BaseException:
            self.close()
            raise
        if on_note is not None and (note := niceness_note(self.niceness)) is not None:
            on_note(note)
        self.lanes = decoders * len(self._slots)
        self.batch_size = GPU_BATCH if self._on_gpu else None
        self._decode = ray.remote(decode_batches)

    def _start_actors(self, clap: Clap) -> list[_Slot]:
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self._on_gpu = any(n["Resources"].get("GPU", 0) >= 1 for n in nodes)
        actor_class = ray.remote(ModelActor)
        # A folder is named in full: a worker's current folder is not this process's.
        folder = Path(clap.name).expanduser()
        model = str(folder.resolve()) if folder.is_dir() else clap.name
        actors = []
        for node in nodes:
            resources = node["Resources"]
            plans: list[tuple[str, int | None, dict[str, int]]]
            if self._on_gpu:  # one actor per GPU, its node's CPUs left to the decoders
                plans = [("cuda", None, {"num_gpus": 1})] * int(resources.get("GPU", 0))
            elif resources.get("CPU", 0) >= 1:  # torch on the node's cores, as the local engine
                plans = [("cpu", int(resources["CPU"]), {})]
            else:
                plans = []
            cpus = actor_cpus(resources.get("CPU", 0), len(plans))
            for device, threads, extra in plans:
                strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=True)
                actors.append(
                    actor_class.options(
                        num_cpus=cpus,
                        max_restarts=ACTOR_RETRIES,
                        max_task_retries=ACTOR_RETRIES,
                        scheduling_strategy=strategy,
                        **extra,
                    ).remote(model, device, clap.precision, threads)
                )
        if not actors:
            raise EngineError(
                "The Ray cluster has no node with a CPU or a GPU free for the "
                "model; add a node to it, or free one."
            )
        try:
            infos = ray.get([a.describe.remote() for a in actors], timeout=ACTOR_START_S)
        except ray.exceptions.GetTimeoutError as e:
            raise EngineError(
                f"The Ray cluster found no room for the model's actors within "
                f"{ACTOR_START_S:.0f} s; free its CPUs or GPUs, or add a node."
            ) from e
        except ray.exceptions.RayError as e:
            raise _said(ray, e, "the model's actors") from None
        ours = (clap.precision, clap.embedding_dim, clap.sampling_rate)
        for info in infos:
            if (info["precision"], info["dim"], info["sampling_rate"]) != ours:
                raise EngineError(
                    f"The Ray actors load {info['model']} in {info['precision']}, but this "
                    f"process has it in {clap.precision}; ask for a precision both run."
                )
        self.niceness = max(info["niceness"] for info in infos)
        return [_Slot(a, info["node"]) for a, info in zip(actors, infos, strict=True)]

    def embedder(self, job: EmbedJob, decoded: DecodeStats) -> Generator[np.ndarray, None, None]:
        """``job``'s vectors, batch by batch: decoded by a Ray task, embedded by an actor."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        slot = self._take()
        gen = None
        finished = False
        try:
            strategy = NodeAffinitySchedulingStrategy(slot.node, soft=True)
            gen = self._decode.options(
                num_cpus=DECODE_CPUS,
                num_returns="streaming",
                max_retries=TASK_RETRIES,
                _generator_backpressure_num_objects=PREFETCH_BATCHES + 1,
                scheduling_strategy=strategy,
            ).remote(job)
            pending: deque[Any] = deque()
            end: Decoded | None = None
            refs = _guarded(ray, gen)
            while (ref := next(refs, None)) is not None or pending:
                if ref is not None:  # each item to the actor as soon as it exists
                    pending.append(slot.actor.embed.remote(ref))
                    if len(pending) <= IN_FLIGHT:
                        continue
                out = self._get(pending.popleft())  # or the decoding's error, in its place
                if isinstance(out, Decoded):
                    end = out
                else:
                    yield out
            if end is None:
                raise EngineError(
                    "The Ray decoding task of this VOD ended without its end; "
                    "run the batch again: it resumes from what the library stored."
                )
            decoded.sampling_rate = job.sampling_rate
            decoded.n_samples, decoded.n_nonfinite = end.n_samples, end.n_nonfinite
            finished = True
        finally:
            self._give(slot)
            if gen is not None and not finished:  # stopped early: the decoding stops too
                with contextlib.suppress(Exception):
                    ray.cancel(gen)

    def _get(self, ref: Any) -> Any:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayError as e:
            raise _said(self._ray, e, "this VOD's work") from None

    def _take(self) -> _Slot:
        with self._guard:
            slot = min(self._slots, key=lambda s: s.busy)
            slot.busy += 1
            return slot

    def _give(self, slot: _Slot) -> None:
        with self._guard:
            slot.busy -= 1

    def close(self) -> None:
        ray = self._ray
        for slot in getattr(self, "_slots", []):
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)
        if self._started:
            ray.shutdown()
            self._started = False


def actor_cpus(node_cpus: float, actors: int) -> float:
    """The CPUs each of a node's ``actors`` asks Ray for: one, less on a small node, so
    that a VOD's decoding (``DECODE_CPUS``) always finds room beside its actor (on a node
    of 1 CPU, an actor of 1 would leave its decoding waiting for ever)."""
    return max(0.0, min(1.0, (node_cpus - DECODE_CPUS) / max(actors, 1)))


def niceness_note(niceness: int) -> str | None:
    """What to say of model actors running at ``niceness`` (None: nothing to say)."""
    if niceness <= WORKER_NICENESS:
        return None
    return (
        f"The Ray cluster runs the model at niceness {niceness}, behind every other "
        "process on its machines; start each node as `RAY_worker_niceness=0 ray start …` "
        "for faster batches."
    )


def connect(ray: Any, address: str | None) -> None:
    """A Ray instance started here on this machine's CPUs, or the cluster at ``address``."""
    try:
        if address is None:
            ray.init(
                address="local",  # a new instance, even where `ray start` left one running
                num_cpus=os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                _system_config={"worker_niceness": WORKER_NICENESS},
            )
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = "here" if address is None else f"at {address}"
        raise EngineError(
            f"Ray could not start or reach a cluster {where} ({_first_line(e)}); "
            "start one with `ray start --head` and give its address."
        ) from e


def _guarded(ray: Any, gen: Any) -> Iterator[Any]:
    """The stream's refs, a Ray failure of the stream itself said as a sentence. Not
    ``yield from``: closing this would close Ray's generator, which it refuses."""
    refs = iter(gen)
    while True:
        try:
            ref = next(refs)
        except StopIteration:
            return
        except ray.exceptions.RayError as e:
            raise _said(ray, e, "this VOD's decoding") from None
        yield ref


def _said(ray: Any, e: BaseException, what: str) -> HypelineError:
    """The library's own error raised in a task or an actor, or a sentence for Ray's."""
    if isinstance(e, ray.exceptions.RayTaskError) and isinstance(e.cause, HypelineError):
        return e.cause
    return EngineError(
        f"The Ray cluster lost {what} ({type(e).__name__}: {_first_line(e)}); "
        "run the batch again: it resumes from what the library stored."
    )


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(e).__name__
