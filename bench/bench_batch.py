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
the engines run in turn ``--repeats`` times, each keeping its best (the machine is shared).
On Linux each run also reports the CPU seconds it cost this process and all its children
(ffmpeg; Ray's daemons, decoding workers and model actor), per window: the engines' cost
in a measure that the other users of a shared machine disturb less than the wall clock.

    python bench/bench_batch.py                       # tiny fixture checkpoint
    python bench/bench_batch.py --vods 6 --minutes 10 --decoders 3
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


def make_vod(path: Path, minutes: float, seed: int) -> Path:
    if not path.exists():
        seconds = minutes * 60
        graph = (
            f"anoisesrc=d={seconds}:c=pink:r=48000:a=0.05:seed={seed}[n];"
            f"sine=f={220 + 55 * seed}:r=48000:d={seconds}[s];[n][s]amix=inputs=2:weights=1 0.2"
        )
        cmd = [ffmpeg_exe(), "-v", "error", "-y", "-filter_complex", graph,
               "-ac", "1", "-c:a", "aac", "-b:a", "64k", str(path)]  # fmt: skip
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
        print(f"The model's weights are not here ({e}); measuring with the tiny fixture "
              "checkpoint instead.")  # fmt: skip
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
        outcomes = run_batch([Item(str(v)) for v in vods], one, Path(home),
                             lanes=engine.lanes if engine is not None else 1)  # fmt: skip
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each VOD")
    parser.add_argument("--decoders", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default="tiny",
                        help="tiny, full (htsat-fused's size, random weights), default (the "
                        "real CLAP, when its weights are here) or a path/id")  # fmt: skip
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--media-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    vods = [make_vod(args.media_dir / f"hypeline-bench-batch-{args.minutes:g}m-{i}.m4a",
                     args.minutes, i) for i in range(args.vods)]  # fmt: skip
    warmup = [make_vod(args.media_dir / "hypeline-bench-batch-warmup.m4a", 0.5, 99)]
    weights = tempfile.TemporaryDirectory(prefix="hypeline-bench-model-")
    clap = load_model(args.model, args.device, args.precision, Path(weights.name))
    import torch

    print(f"{args.vods} VODs × {args.minutes:g} min, model {clap.name} ({clap.precision}), "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"{args.decoders} decoders")  # fmt: skip

    engines: dict[str, object] = {"sequential": None, "seq-thread": None,
                                  "local-1": LocalEngine(clap, 1),
                                  "local": LocalEngine(clap, args.decoders)}  # fmt: skip
    ray_engine = None
    if not args.no_ray:
        try:
            import ray
        except ImportError:
            print('Ray is not installed (pip install "hypeline[ray]"): no Ray figures.')
        else:
            from emotion.ray_engine import RayEngine

            started = time.perf_counter()
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
            up = time.perf_counter() - started
            ray_engine = RayEngine(clap, decoders=args.decoders)
            print(f"ray: instance up in {up:.1f} s, model actor(s) ready "
                  f"{time.perf_counter() - started - up:.1f} s later")  # fmt: skip
            engines["ray"] = ray_engine
    for engine in engines.values():
        batch(warmup, clap, engine, args.batch_size)

    best: dict[str, float] = {}
    least_cpu: dict[str, float] = {}  # CPU ms per window, the run's least
    for r in range(args.repeats):
        for name, engine in engines.items():
            run = on_a_thread if name == "seq-thread" else batch
            cpu_before = cpu_s()
            n, took = run(vods, clap, engine, args.batch_size)
            cpu_after = cpu_s()
            rate = n / took
            best[name] = max(best.get(name, 0.0), rate)
            cpu = ""
            if cpu_before is not None and cpu_after is not None:
                per_window_ms = 1000 * (cpu_after - cpu_before) / n
                least_cpu[name] = min(least_cpu.get(name, per_window_ms), per_window_ms)
                cpu = f", CPU {cpu_after - cpu_before:5.1f} s = {per_window_ms:5.1f} ms/window"
            print(f"  run {r + 1} {name:>10}: {n} windows in {took:5.1f} s = {rate:6.1f} windows/s"
                  f"{cpu}")  # fmt: skip
    print("best of each:")
    for name, rate in best.items():
        cpu = f", CPU {least_cpu[name]:5.1f} ms/window" if name in least_cpu else ""
        print(f"  {name:>10}: {rate:6.1f} windows/s ({rate / best['sequential']:.2f}× sequential)"
              f"{cpu}")  # fmt: skip
    if "ray" in best:
        overhead = best["local"] / best["ray"] - 1
        print(f"Ray's overhead against the local engine on the same cores: {100 * overhead:+.1f} % "
              "(target ≤ 10 %)")  # fmt: skip
        if "ray" in least_cpu:
            extra = least_cpu["ray"] / least_cpu["local"] - 1
            print(f"Ray's CPU per window against the local engine's: {100 * extra:+.1f} %")
    if ray_engine is not None:
        ray_engine.close()
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
