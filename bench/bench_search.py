"""Library-wide search: latency and memory of the exact streaming search at scale.

Builds a synthetic library in the store's own format (``library.sqlite`` +
``embeddings/<id>.f32``) under a temporary ``HYPELINE_HOME``: ``--vods`` analyses of
``--windows`` 512-number unit vectors each (default 1,000 × 2,000 = 2,000,000 windows,
about 4 GB; 2,000 windows is a 2 h 47 min VOD at the default 5 s hop). A few known
vectors are planted so the answers can be checked. Then a fresh process runs
``--queries`` searches (random unit vectors, and the planted ones) and reports latency
p50/p95 and its peak RSS above what it held before the first search (the model, loaded
once per process in the product, is not part of this). The library is deleted at the end.

    python bench/bench_search.py                     # 2 M windows, ~4 GB in /tmp
    python bench/bench_search.py --vods 100          # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion.library.store import Store  # noqa: E402
from emotion.media.sources import Source  # noqa: E402
from emotion.search import Query, search  # noqa: E402

DIM = 512
MODEL = "bench/clap-512"
PLANTED = 5  # (vod, row) pairs whose vector is a query's exact answer


def build(home: Path, vods: int, windows: int) -> list[tuple[int, int, np.ndarray]]:
    """Write the library; the planted (analysis id, row, vector) answers."""
    store = Store(home)
    rng = np.random.default_rng(0)
    planted = []
    plant_at = {int(v): int(rng.integers(windows)) for v in rng.choice(vods, PLANTED, False)}
    started = time.monotonic()
    for v in range(vods):
        source = Source(path=home / f"vod-{v}.mp4", title=f"VOD {v}", duration_s=windows * 5.0)
        record = store.open_analysis(source, f"bench:{v}", MODEL, 10.0, 5.0, DIM)
        vectors = rng.standard_normal((windows, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if v in plant_at:
            planted.append((record.id, plant_at[v], vectors[plant_at[v]].copy()))
        lease = store.lease(record.id)
        assert lease is not None
        with lease:
            store.append(lease, record.id, DIM, vectors, windows)
            store.finish(lease, record.id, windows * 5.0)
        if v % 100 == 99:
            print(f"  built {v + 1}/{vods} VODs ({time.monotonic() - started:.0f} s)", flush=True)
    return planted


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def queries(home: Path, n: int, planted_file: Path, top: int) -> dict[str, object]:
    """Run in a fresh process: latencies and memory of ``n`` searches."""
    store = Store(home)
    planted = json.loads(planted_file.read_text())
    rng = np.random.default_rng(1)
    before_mb = rss_mb()
    latencies, correct = [], 0
    for i in range(n):
        if i < len(planted):  # the exact answer must come first
            aid, row, vector = planted[i]
            vector = np.asarray(vector, dtype=np.float32)
        else:
            vector = rng.standard_normal(DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
        t = time.perf_counter()
        hits = search(store, Query(vector, "bench"), [MODEL], top=top)
        latencies.append(time.perf_counter() - t)
        if i < len(planted):
            correct += hits[0].analysis_id == aid and hits[0].best_start_s == row * 5.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "first_ms": latencies[0] * 1000,
        "p50_ms": float(np.percentile(latencies[1:], 50) * 1000),
        "p95_ms": float(np.percentile(latencies[1:], 95) * 1000),
        "rss_before_mb": before_mb,
        "peak_rss_mb": peak_mb,
        "planted_found": f"{correct}/{min(len(planted), n)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=2000, help="windows per VOD")
    parser.add_argument("--queries", type=int, default=21)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dir", type=Path, help="where the temporary library goes (default /tmp)")
    parser.add_argument("--_query-home", dest="query_home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query_home is not None:
        result = queries(args.query_home, args.queries, args.query_home / "planted.json", args.top)
        print(json.dumps(result))
        return

    home = Path(tempfile.mkdtemp(prefix="hypeline-bench-search-", dir=args.dir))
    try:
        free_gb = shutil.disk_usage(home).free / 2**30
        need_gb = args.vods * args.windows * DIM * 4 / 2**30
        print(f"library: {args.vods} VODs × {args.windows} windows × {DIM} float32 = "
              f"{need_gb:.1f} GB in {home} ({free_gb:.0f} GB free)")  # fmt: skip
        if need_gb * 1.1 > free_gb:
            sys.exit(f"Not enough disk space in {home.parent} for {need_gb:.1f} GB; use --dir.")
        started = time.monotonic()
        planted = build(home, args.vods, args.windows)
        print(f"built in {time.monotonic() - started:.0f} s")
        (home / "planted.json").write_text(
            json.dumps([(aid, row, vec.tolist()) for aid, row, vec in planted])
        )
        out = subprocess.run(
            [sys.executable, __file__, "--_query-home", str(home), "--queries",
             str(args.queries), "--top", str(args.top)],
            capture_output=True, text=True, check=True, env={**os.environ, "HYPELINE_HOME": str(home)},
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{args.queries} queries, top {args.top}, exact cosine, {os.cpu_count()} CPU(s):")
        print(f"  first query     {r['first_ms']:8.0f} ms  (page cache as the build left it)")
        print(f"  p50 / p95       {r['p50_ms']:8.0f} / {r['p95_ms']:.0f} ms")
        print(f"  peak RSS        {r['peak_rss_mb']:8.0f} MB  "
              f"({r['peak_rss_mb'] - r['rss_before_mb']:.0f} MB above the "
              f"{r['rss_before_mb']:.0f} MB before the first search)")  # fmt: skip
        print(f"  planted vectors found first: {r['planted_found']}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
