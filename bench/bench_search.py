"""Library-wide search at archive scale: the approximate index against the exact scan.

Builds a synthetic library in the store's own format (``library.sqlite`` +
``embeddings/<id>.f32``) under a temporary ``HYPELINE_HOME``: ``--vods`` analyses of
``--windows`` 512-number unit vectors each (default 1,000 × 2,000 = 2,000,000 windows,
about 4 GB; 2,000 windows is a 2 h 47 min VOD at the default 5 s hop).

The vectors look like CLAP audio embeddings, not like noise: a direction every sound
shares (unrelated windows have a cosine of ~0.25, as CLAP's do), 64 "genres" of 32 sounds
each, and VODs that each use 30 sounds of 3 genres in scenes of about a minute, drifting
inside a scene (AR(1) noise: neighbouring windows, which overlap by half, have a cosine of
~0.84) on a per-VOD room tone. Queries are of two kinds: "text" queries, a sound's centre
across a modality gap (the best window's cosine ~0.3–0.5, as a prompt's is), and "clip"
queries, a stored window plus a little noise (its window must come first).

Then, each in a fresh process: the index is built (``search_index.update``: time, CPU,
peak RSS), and the queries are run through the index and through the exact scan: latency
p50/p95, recall@20 of the hits (the exact scan's (VOD, best window) found by the index) and
whether the scores of the common hits are equal, and the index's memory (anonymous RSS: the
stored vectors are memory-mapped page cache, not the process's own). The library is
deleted at the end.

    python bench/bench_search.py                     # 2 M windows, ~4 GB in /tmp
    python bench/bench_search.py --vods 100          # a quick look
    python bench/bench_search.py --ten-million       # 10 M windows, ~20 GB (~40 min)
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
from scipy.signal import lfilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion import search_index  # noqa: E402
from emotion.library.store import Store  # noqa: E402
from emotion.media.sources import Source  # noqa: E402
from emotion.progress import Progress  # noqa: E402
from emotion.search import Query, search  # noqa: E402

DIM = 512
MODEL = "bench/clap-512"
HOP_S = 5.0


class Sounds:
    """A world of CLAP-like sounds (fixed seed): a shared direction, genres, sounds."""

    def __init__(self, genres: int = 64, per_genre: int = 32, dim: int = DIM):
        rng = np.random.default_rng(1234)
        self.dim = dim
        self.mean = _unit(rng.standard_normal(dim))
        genre = _unit(rng.standard_normal((genres, dim)))
        sound = _unit(rng.standard_normal((genres, per_genre, dim)))
        self.centres = _unit(0.55 * self.mean + 0.5 * genre[:, None] + 0.65 * sound)
        self.text_gap = _unit(rng.standard_normal(dim))  # CLAP's text and audio sides differ

    def vod(self, rng: np.random.Generator, n: int) -> np.ndarray:
        genres, per = self.centres.shape[:2]
        palette = [(g, k) for g in rng.choice(genres, 3, False) for k in rng.choice(per, 10, False)]
        room = rng.standard_normal(self.dim) / np.sqrt(self.dim)
        scenes = np.repeat(rng.integers(len(palette), size=n), rng.geometric(1 / 12, n))[:n]
        centres = np.stack([self.centres[g, k] for g, k in palette])[scenes]
        noise = rng.standard_normal((n, self.dim)) / np.sqrt(self.dim)
        drift = lfilter([0.6], [1.0, -0.8], noise, axis=0)
        return _unit(centres + 0.25 * room + 0.45 * drift + 0.25 * noise).astype(np.float32)

    def text(self, rng: np.random.Generator) -> np.ndarray:
        g, k = rng.integers(self.centres.shape[0]), rng.integers(self.centres.shape[1])
        noise = rng.standard_normal(self.dim) / np.sqrt(self.dim)
        return _unit(0.5 * self.centres[g, k] + 0.6 * self.text_gap + 0.5 * noise).astype(
            np.float32
        )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def build(home: Path, vods: int, windows: int) -> None:
    """Write the library (complete analyses, one a VOD)."""
    store = Store(home)
    world = Sounds()
    rng = np.random.default_rng(0)
    started = time.monotonic()
    for v in range(vods):
        source = Source(path=home / f"vod-{v}.mp4", title=f"VOD {v}", duration_s=windows * HOP_S)
        record = store.open_analysis(source, f"bench:{v}", MODEL, 10.0, HOP_S, DIM)
        vectors = world.vod(rng, windows)
        lease = store.lease(record.id)
        assert lease is not None
        with lease:
            store.append(lease, record.id, DIM, vectors, windows)
            store.finish(lease, record.id, windows * HOP_S + 5.0)
        if v % 250 == 249:
            print(f"  built {v + 1}/{vods} VODs ({time.monotonic() - started:.0f} s)", flush=True)


def rss() -> dict[str, float]:
    """This process's resident memory now, in MB: all of it and its anonymous part."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    return out


def build_index(home: Path) -> dict[str, object]:
    """Run in a fresh process: the index built from nothing."""
    store = Store(home)
    started, started_cpu = time.perf_counter(), time.process_time()
    shown = [-1.0]

    def progress(p: Progress) -> None:  # on stderr, which the parent lets through
        if p.fraction is not None and (p.fraction - shown[0] >= 0.1 or p.fraction == 1.0):
            shown[0] = p.fraction
            print(f"  index: {p.message} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    status = search_index.update(store, MODEL, progress=progress)
    assert status is not None
    return {
        "build_s": time.perf_counter() - started,
        "build_cpu_s": time.process_time() - started_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "file_mb": status.bytes / 2**20,
        "lists": status.n_lists,
        "windows": status.n_windows,
    }


def queries(home: Path, n: int, n_exact: int, top: int) -> dict[str, object]:
    """Run in a fresh process: ``n`` searches through the index, ``n_exact`` of them also
    through the exact scan."""
    store = Store(home)
    world = Sounds()
    rng = np.random.default_rng(1)
    records = {r.id: r for r in store.analyses()}
    ids = sorted(records)
    kinds, vectors, planted = [], [], []
    for i in range(n):
        if i % 2 == 0:
            kinds.append("text")
            vectors.append(world.text(rng))
            planted.append(None)
        else:
            record = records[ids[int(rng.integers(len(ids)))]]
            row = int(rng.integers(record.n_done))
            v = np.array(store.vector_rows(record, row, row + 1)[0])
            v = _unit(v + 0.01 * rng.standard_normal(DIM) / np.sqrt(DIM)).astype(np.float32)
            kinds.append("clip")
            vectors.append(v)
            planted.append((record.id, row * HOP_S))
    before = rss()
    started = time.perf_counter()
    search(store, Query(vectors[0], "warm-up"), [MODEL], top=top, index=True)
    load_s = time.perf_counter() - started  # reads the index file
    loaded = rss()
    approx, latencies = [], []
    for v in vectors:
        t = time.perf_counter()
        approx.append(search(store, Query(v, "bench"), [MODEL], top=top, index=True))
        latencies.append(time.perf_counter() - t)
    after = rss()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recalls, equal_scores, identical, exact_latencies, planted_first = [], 0, 0, [], 0
    for i in range(n):
        if planted[i] is not None:
            h = approx[i][0]
            planted_first += (h.analysis_id, h.best_start_s) == planted[i]
    for i in range(min(n, n_exact)):
        t = time.perf_counter()
        exact = search(store, Query(vectors[i], "bench"), [MODEL], top=top, index=False)
        exact_latencies.append(time.perf_counter() - t)
        want = {(h.analysis_id, h.best_start_s): h.score for h in exact}
        got = {(h.analysis_id, h.best_start_s): h.score for h in approx[i]}
        recalls.append(len(want.keys() & got.keys()) / len(want))
        equal_scores += all(got[k] == want[k] for k in want.keys() & got.keys())
        identical += exact == approx[i]
    text = [r for r, k in zip(recalls, kinds, strict=False) if k == "text"]
    clip = [r for r, k in zip(recalls, kinds, strict=False) if k == "clip"]
    return {
        "load_s": load_s,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p95_ms": float(np.percentile(latencies, 95) * 1000),
        "exact_p50_ms": float(np.percentile(exact_latencies, 50) * 1000),
        "recall": float(np.mean(recalls)),
        "recall_min": float(np.min(recalls)),
        "recall_text": float(np.mean(text)) if text else float("nan"),
        "recall_clip": float(np.mean(clip)) if clip else float("nan"),
        "compared": len(recalls),
        "equal_scores": equal_scores,
        "identical": identical,
        "planted_first": f"{planted_first}/{sum(p is not None for p in planted)}",
        "anon_before_mb": before["RssAnon"],
        "anon_loaded_mb": loaded["RssAnon"],
        "anon_after_mb": after["RssAnon"],
        "file_after_mb": after["RssFile"],
        "peak_rss_mb": peak_mb,
    }


def child(flag: str, home: Path, *extra: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, flag, str(home), *extra],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HYPELINE_HOME": str(home)},
    )
    if out.returncode != 0:
        sys.exit(f"{flag[3:]} failed (exit {out.returncode}); its error is above.")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=2000, help="windows per VOD")
    parser.add_argument("--ten-million", action="store_true", help="5,000 VODs × 2,000 windows")
    parser.add_argument("--queries", type=int, default=60, help="half text, half clip")
    parser.add_argument("--exact", type=int, default=60, help="queries also run exactly")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dir", type=Path, help="where the temporary library goes (default /tmp)")
    parser.add_argument("--_index", dest="index_home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_query", dest="query_home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.index_home is not None:
        print(json.dumps(build_index(args.index_home)))
        return
    if args.query_home is not None:
        print(json.dumps(queries(args.query_home, args.queries, args.exact, args.top)))
        return
    if args.ten_million:
        args.vods, args.windows = 5000, 2000

    home = Path(tempfile.mkdtemp(prefix="hypeline-bench-search-", dir=args.dir))
    try:
        free_gb = shutil.disk_usage(home).free / 2**30
        need_gb = args.vods * args.windows * DIM * 4 / 2**30
        total = args.vods * args.windows
        print(
            f"library: {args.vods} VODs × {args.windows} windows = {total:,} × {DIM} float32 "
            f"= {need_gb:.1f} GB in {home} ({free_gb:.0f} GB free)"
        )
        if need_gb * 1.15 > free_gb:
            sys.exit(f"Not enough disk space in {home.parent} for {need_gb:.1f} GB; use --dir.")
        started = time.monotonic()
        build(home, args.vods, args.windows)
        print(f"built in {time.monotonic() - started:.0f} s", flush=True)
        b = child("--_index", home)
        print(
            f"index (IVF{b['lists']},PQ{DIM // 8}, {os.cpu_count()} CPU(s)): built in "
            f"{b['build_s']:.0f} s ({b['build_cpu_s']:.0f} s CPU), file {b['file_mb']:.0f} MB, "
            f"peak RSS {b['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        r = child(
            "--_query",
            home,
            "--queries",
            str(args.queries),
            "--exact",
            str(args.exact),
            "--top",
            str(args.top),
        )
        print(f"{args.queries} queries (half text, half clip), top {args.top}:")
        print(
            f"  index  p50 / p95   {r['p50_ms']:7.1f} / {r['p95_ms']:.1f} ms  "
            f"(loading the index: {r['load_s']:.1f} s, once per process)"
        )
        print(f"  exact  p50         {r['exact_p50_ms']:7.0f} ms")
        print(
            f"  recall@20 of hits  {r['recall']:7.4f}  (min {r['recall_min']:.2f}; text "
            f"{r['recall_text']:.4f}, clip {r['recall_clip']:.4f}; over {r['compared']} "
            "queries)"
        )
        print(
            f"  same scores        {r['equal_scores']}/{r['compared']} queries; identical "
            f"hit lists {r['identical']}/{r['compared']}"
        )
        print(f"  clip queries' own window first: {r['planted_first']}")
        print(
            f"  index memory       {r['anon_loaded_mb'] - r['anon_before_mb']:7.0f} MB "
            f"anonymous RSS once loaded ({r['anon_after_mb']:.0f} MB after the queries, "
            f"{r['file_after_mb']:.0f} MB of mapped vectors; peak RSS "
            f"{r['peak_rss_mb']:.0f} MB)"
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
