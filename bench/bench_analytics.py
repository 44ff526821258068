"""Analytics speed: a library of N VODs × H hours re-scored with new prompts and aggregated.

Builds a library of stored 512-d window vectors (laion/clap-htsat-fused's size; 10 s
windows, 5 s hop: 2,160 windows per 3 h VOD) in a temporary HYPELINE_HOME, then times
``library_stats`` (read every analysis's vectors, score against the prompts, cells, mood
mix, highlights, heatmap, best-of), warm (vectors in the page cache) and text embeddings
cached, as on the dashboard after the first run. The model is the fused architecture with
random weights (its text tower gives the prompt vectors); the window vectors are drawn
around those prompts so that highlights occur, about one a minute.

    python bench/bench_analytics.py                       # 100 VODs × 3 h = 216,000 windows
    python bench/bench_analytics.py --vods 10 --hours 1   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_embed import full_size_fused  # noqa: E402

from emotion import analytics  # noqa: E402
from emotion.analytics import WORKERS, library_stats  # noqa: E402
from emotion.library.store import Store  # noqa: E402
from emotion.media.sources import Source  # noqa: E402
from emotion.model.clap import Clap  # noqa: E402
from emotion.scoring.prompts import prompts_for  # noqa: E402

LABELS = [
    "win celebration",
    "fail frustration",
    "crowd cheering and hype",
    "laughter",
    "jump-scare scream",
]
BACKGROUND = ["calm talking", "background music", "silence", "keyboard and mouse clicks"]
WINDOW_S, HOP_S = 10.0, 5.0
DAY_S = 86_400.0


def build(store: Store, clap: Clap, vods: int, hours: float) -> int:
    """Write ``vods`` complete analyses of synthetic vectors; the number of windows."""
    text = clap.embed_text(prompts_for([*LABELS, *BACKGROUND])).astype(np.float64)
    # A random text tower gives prompts with nearly one direction; what tells them apart is
    # the rest, so each window leans on its prompt's own part.
    own = text - text.mean(axis=0)
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    n = int(hours * 3600 / HOP_S) - 1
    total = 0
    for i in range(vods):
        # mostly background, with label moments of ~30 s about once a minute
        which = rng.integers(len(LABELS), len(LABELS) + len(BACKGROUND), n)
        for start in np.flatnonzero(rng.random(n) < 1 / 12):
            which[start : start + 6] = rng.integers(len(LABELS))
        vectors = own[which] + rng.standard_normal((n, text.shape[1])) * 0.03
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        source = Source(Path(f"/streams/vod{i:03d}.mp4"), f"Stream {i + 1}", n * HOP_S)
        record = store.open_analysis(
            source,
            f"vod{i}",
            clap.name,
            WINDOW_S,
            HOP_S,
            clap.embedding_dim,
            published=1.7e9 + i * DAY_S,
        )
        lease = store.lease(record.id)
        assert lease is not None
        store.append(lease, record.id, clap.embedding_dim, vectors.astype(np.float32), n)
        store.finish(lease, record.id, n * HOP_S + WINDOW_S - HOP_S)
        lease.release()
        total += n
    return total


@contextlib.contextmanager
def _blas_as(way: str) -> Iterator[None]:
    """``before``: library_stats without its one-BLAS-thread limit, as it was."""
    if way == "now":
        yield
        return
    saved = analytics._one_blas_thread
    analytics._one_blas_thread = contextlib.nullcontext  # type: ignore[assignment]
    try:
        yield
    finally:
        analytics._one_blas_thread = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=100)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, processor = full_size_fused(torch.device("cpu"))
    clap = Clap(
        "htsat-fused (random weights)", model, processor, torch.device("cpu"), torch.float32
    )
    # Random prompts differ by little, so at the initial scale (1/0.07) every probability is
    # near 1/9; a larger scale makes confident moments, as a trained model's are.
    clap.logit_scale = 400.0
    with tempfile.TemporaryDirectory() as home:
        store = Store(Path(home))
        started = time.perf_counter()
        windows = build(store, clap, args.vods, args.hours)
        print(
            f"library: {args.vods} VODs × {args.hours:g} h = {windows:,} windows "
            f"({time.perf_counter() - started:.1f} s to write)"
        )
        library_stats(store, clap, LABELS, BACKGROUND)  # warm: text cached, files in cache
        # Now (numpy's BLAS on one thread under the workers) against before (BLAS threads
        # on top of them), alternated in this one run so both see the same neighbours.
        times: dict[str, list[float]] = {"now": [], "before": []}
        cpu: dict[str, list[float]] = {"now": [], "before": []}
        results = {}
        for _ in range(args.repeat):
            for way in ("now", "before"):
                with _blas_as(way):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    results[way] = library_stats(store, clap, LABELS, BACKGROUND)
                    times[way].append(time.perf_counter() - started)
                    cpu[way].append(time.process_time() - started_cpu)
        assert results["now"].to_dict() == results["before"].to_dict()  # the same numbers
        assert np.array_equal(results["now"].heatmap, results["before"].heatmap)
        stats = results["now"]
        n_highlights = sum(v.n_highlights for v in stats.vods)
        for way, label in (("now", "BLAS on 1 thread"), ("before", "BLAS threads as before")):
            t = times[way]
            print(
                f"re-score + aggregate ({label}): best {min(t):.3f} s, median "
                f"{sorted(t)[len(t) // 2]:.3f} s over {args.repeat} runs "
                f"({windows / min(t):,.0f} windows/s); CPU best {min(cpu[way]):.3f} s"
            )
        print(f"{n_highlights:,} highlights, best-of {len(stats.best)}; results identical")
        # On a shared machine the wall time says more about the neighbours than about us;
        # the CPU time is what the work costs (wall time on a quiet core, before threads).
        print(f"{WORKERS} workers on {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss_mb:.0f} MB (the model's weights included)")


if __name__ == "__main__":
    main()
