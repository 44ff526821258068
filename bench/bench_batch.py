"""Batch throughput: windows/s for one VOD after another, the local engine, and Ray.

Builds a few synthetic VODs (pink noise + a tone, AAC in .m4a) with ffmpeg, then embeds
all of them into a fresh library per engine, as ``hypeline batch`` does (open, identity,
decode, embed, store), and prints windows/s and the ratios:

* sequential  today's path: one VOD after another (each already decodes on a thread
              while its batches are embedded);
* seq-thread  the same, called from a thread other than the main one: on a busy 2-core
              machine torch's OpenMP team was 3-10x slower called from the main thread
              than from any other (measured, not explained), and the engines' model runs
              off the main thread (``ExclusiveModel``; Ray: the actor's model thread),
              so this is the baseline that tells the overlap's gain from that one;
* local-1     the local engine with one decoder: one VOD after another, its model on
              its own thread (what ``--decoders 1`` does);
* local       ``--decoders`` VODs decoded at once, one model (``emotion.engines``);
* ray         a local Ray instance on this machine's CPUs, one CPU model actor and the
              same decoders as tasks (``emotion.ray_engine``); Ray's start and the actor's
              model load are reported apart, and its overhead is against local on the
              same cores (target ≤ 10 %).

Each engine first embeds a short warm-up VOD (worker processes, first-call costs), then
the engines run in rounds (``--repeats``), in turn, the order reversed every other round
(A B C, C B A, …) so that no engine always runs first or last. Each engine's figure is its
median, and Ray's overhead is the median over the rounds of local's rate over Ray's in the
same round: on a shared machine a best-of favours whichever engine varies most (the local
engine spends more CPU per window than Ray, so it gains most from a quiet moment).
On Linux each run also reports the CPU seconds it cost this process and all its children
(ffmpeg; Ray's daemons, decoding workers and model actor), per window: the engines' cost
in a measure that the other users of a shared machine disturb less than the wall clock.

    python bench/bench_batch.py                       # tiny fixture checkpoint
    python bench/bench_batch.py --vods 6 --minutes 10 --decoders 3
    python bench/bench_batch.py --engines local,ray --repeats 5   # Ray's overhead alone
    python bench/bench_batch.py --model full --vods 2 --minutes 2   # full size, random weights
    python bench/bench_batch.py --model default       # the real CLAP, when its weights are here
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion.batch import Done, run_batch  # noqa: E402
from emotion.batch_inputs import Item  # noqa: E402
from emotion.engines import LocalEngine, Tally  # noqa: E402
from emotion.errors import HypelineError  # noqa: E402
from emotion.library.store import Store  # noqa: E402
from emotion.media.audio import ffmpeg_exe  # noqa: E402
from emotion.model.clap import Clap, load_clap  # noqa: E402
from emotion.pipeline import embed, open_spec  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "tiny-clap"
ENGINES = ("sequential", "seq-thread", "local-1", "local", "ray")


def make_vod(path: Path, minutes: float, seed: int) -> Path:
    if not path.exists():
        seconds = minutes * 60
        graph = (
            f"anoisesrc=d={seconds}:c=pink:r=48000:a=0.05:seed={seed}[n];"
            f"sine=f={220 + 55 * seed}:r=48000:d={seconds}[s];[n][s]amix=inputs=2:weights=1 0.2"
        )
        cmd = [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-filter_complex",
            graph,
            "-ac",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            str(path),
        ]
        subprocess.run(cmd, check=True)
    return path


def load_model(name: str, device: str, precision: str, folder: Path) -> Clap:
    if name == "tiny":
        return load_clap(str(TINY), device=device, precision=precision)
    if name == "full":  # saved to a folder, so that Ray's actors load it by path too
        sys.path.insert(0, str(REPO / "bench"))
        import torch
        from bench_embed import full_size_fused

        model, processor = full_size_fused(torch.device("cpu"))
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        return load_clap(str(folder), device=device, precision=precision)
    try:
        return load_clap(None if name == "default" else name, device=device, precision=precision)
    except HypelineError as e:
        print(
            f"The model's weights are not here ({e}); measuring with the tiny fixture "
            "checkpoint instead."
        )
        return load_clap(str(TINY), device=device, precision=precision)


def cpu_s() -> float | None:
    """CPU seconds of this process and its descendants, living and reaped (Linux's /proc;
    None elsewhere): Ray's processes are children of the instance this bench starts."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        spent: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    parents[int(entry)] = int(fields[1])
                    spent[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    except (OSError, ValueError):
        return None
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += spent.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def batch(vods: list[Path], clap: Clap, engine, batch_size: int | None) -> tuple[int, float]:
    """Embed ``vods`` into a fresh library through ``engine`` (None: sequential); the
    windows embedded and the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="hypeline-bench-batch-") as home:
        store = Store(Path(home))

        def one(spec: str) -> Done:
            tally = Tally(engine.embedder) if engine is not None else None
            record = embed(open_spec(spec), clap, store, batch_size=batch_size, embedder=tally)
            return Done(spec, record.id, record.n_done, 0, record.n_done)

        started = time.perf_counter()
        outcomes = run_batch(
            [Item(str(v)) for v in vods],
            one,
            Path(home),
            lanes=engine.lanes if engine is not None else 1,
        )
        took = time.perf_counter() - started
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"a VOD failed: {failed[0]}")
    return sum(o.windows for o in outcomes), took


def on_a_thread(vods: list[Path], clap: Clap, engine, batch_size: int | None) -> tuple[int, float]:
    """``batch`` run from a thread of its own (see the module's docstring)."""
    result: list[tuple[int, float]] = []
    thread = threading.Thread(target=lambda: result.append(batch(vods, clap, engine, batch_size)))
    thread.start()
    thread.join()
    return result[0]


def start_ray(clap: Clap, decoders: int):
    """The Ray engine on a local instance started as the CLI starts one (None: no Ray)."""
    try:
        import ray
    except ImportError:
        print('Ray is not installed (pip install "hypeline[ray]"): no Ray figures.')
        return None
    from emotion.ray_engine import RayEngine, connect

    started = time.perf_counter()
    connect(ray, None)  # as the engine starts one: workers at niceness 0
    up = time.perf_counter() - started
    engine = RayEngine(clap, decoders=decoders)
    print(
        f"ray: instance up in {up:.1f} s, model actor(s) ready "
        f"{time.perf_counter() - started - up:.1f} s later"
    )
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=15.0, help="length of each VOD")
    parser.add_argument("--decoders", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="rounds (odd: a clear median)")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="which to run, in this order (comma-separated)",
    )
    parser.add_argument(
        "--model",
        default="tiny",
        help="tiny, full (htsat-fused's size, random weights), default (the "
        "real CLAP, when its weights are here) or a path/id",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--media-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    vods = [
        make_vod(
            args.media_dir / f"hypeline-bench-batch-{args.minutes:g}m-{i}.m4a", args.minutes, i
        )
        for i in range(args.vods)
    ]
    warmup = [make_vod(args.media_dir / "hypeline-bench-batch-warmup.m4a", 0.5, 99)]
    weights = tempfile.TemporaryDirectory(prefix="hypeline-bench-model-")
    clap = load_model(args.model, args.device, args.precision, Path(weights.name))
    import torch

    print(
        f"{args.vods} VODs × {args.minutes:g} min, model {clap.name} ({clap.precision}), "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"{args.decoders} decoders"
    )

    wanted = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = set(wanted) - set(ENGINES)
    if unknown:
        raise SystemExit(
            f"no engine {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}"
        )
    engines: dict[str, object] = {}
    ray_engine = None
    for name in wanted:
        if name in ("sequential", "seq-thread"):
            engines[name] = None
        elif name == "local-1":
            engines[name] = LocalEngine(clap, 1)
        elif name == "local":
            engines[name] = LocalEngine(clap, args.decoders)
        else:
            ray_engine = start_ray(clap, args.decoders)
            if ray_engine is not None:
                engines[name] = ray_engine
    for engine in engines.values():
        batch(warmup, clap, engine, args.batch_size)

    rates: dict[str, list[float]] = {name: [] for name in engines}
    cpu_ms: dict[str, list[float]] = {name: [] for name in engines}  # CPU ms per window
    for r in range(args.repeats):
        order = list(engines) if r % 2 == 0 else list(reversed(engines))
        for name in order:
            run = on_a_thread if name == "seq-thread" else batch
            cpu_before = cpu_s()
            n, took = run(vods, clap, engines[name], args.batch_size)
            cpu_after = cpu_s()
            rates[name].append(n / took)
            cpu = ""
            if cpu_before is not None and cpu_after is not None:
                cpu_ms[name].append(1000 * (cpu_after - cpu_before) / n)
                cpu = f", CPU {cpu_after - cpu_before:5.1f} s = {cpu_ms[name][-1]:5.1f} ms/window"
            print(
                f"  run {r + 1} {name:>10}: {n} windows in {took:5.1f} s = "
                f"{n / took:6.1f} windows/s{cpu}"
            )
    print(f"median of {args.repeats} runs:")
    first = median(rates[next(iter(engines))])
    for name, rate in rates.items():
        cpu = f", CPU {median(cpu_ms[name]):5.1f} ms/window" if cpu_ms[name] else ""
        print(f"  {name:>10}: {median(rate):6.1f} windows/s ({median(rate) / first:.2f}×){cpu}")
    if "ray" in rates and "local" in rates:
        paired = [local / ray for local, ray in zip(rates["local"], rates["ray"], strict=True)]
        print(
            "Ray's overhead against the local engine on the same cores, round by round: "
            + ", ".join(f"{100 * (x - 1):+.0f} %" for x in paired)
            + f"; median {100 * (median(paired) - 1):+.1f} % (target ≤ 10 %)"
        )
        if cpu_ms["ray"] and cpu_ms["local"]:
            extra = median(cpu_ms["ray"]) / median(cpu_ms["local"]) - 1
            print(f"Ray's CPU per window against the local engine's: {100 * extra:+.1f} %")
    if ray_engine is not None:
        ray_engine.close()
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
