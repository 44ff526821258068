"""Live monitor cost: latency per window and CPU share, for one stream and two at once.

A full-size htsat-fused built from ``ClapConfig`` with random weights (as
``bench_embed.py``; timing does not need trained weights) follows synthetic streams read
at 1× speed (a local file with ``realtime``: ffmpeg ``-re``, the same decode as a live
URL), with ``--hop 2.5``. Latency is from the moment a window's last sample arrives to
the moment its alert line would be written (embedded, stored, scored, alerts handled).
CPU share is the process's CPU time (all threads, and its ffmpeg children) over the
wall time, as a fraction of one core, per stream.

    python bench/bench_live.py                  # CPU, 60 s streams, 1 and 2 at once
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_embed import full_size_fused  # noqa: E402

from emotion.library.store import Store  # noqa: E402
from emotion.live import LiveSettings, Monitor  # noqa: E402
from emotion.model.batcher import Batcher  # noqa: E402
from emotion.model.clap import PRECISIONS, Clap, choose_precision  # noqa: E402
from emotion.model.names import INT8  # noqa: E402
from tests.media import write_media  # noqa: E402
from tests.synth import make_vod  # noqa: E402

LABELS = ("win celebration", "fail frustration", "crowd cheering", "laughter")
BACKGROUND = ("calm talking", "background music", "silence")
SR = 48_000


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # ffmpeg, once waited for
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(embedder: Batcher, media: list[Path], home: Path, hop_s: float) -> None:
    settings = LiveSettings(labels=LABELS, background=BACKGROUND, hop_s=hop_s, realtime=True)
    store = Store(home)
    monitors = [Monitor(str(m), settings, embedder, store) for m in media]
    cpu0, wall0 = cpu_s(), time.monotonic()
    for m in monitors:
        m.start()
    for m in monitors:
        m.join()
    cpu, wall = cpu_s() - cpu0, time.monotonic() - wall0
    latencies = np.concatenate([np.array(m.latencies_s) for m in monitors])
    n = len(monitors)
    p50, p95 = np.percentile(latencies, [50, 95])
    print(
        f"{n} stream(s), hop {hop_s:g} s: {latencies.size} windows, latency p50 {p50:.3f} s, "
        f"p95 {p95:.3f} s, max {latencies.max():.3f} s; CPU {cpu / wall:.0%} of a core in all, "
        f"{cpu / wall / n:.0%} per stream ({embedder.batches} forward passes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each stream")
    parser.add_argument("--hop", type=float, default=2.5)
    parser.add_argument("--streams", default="1,2", help="how many streams at once, per run")
    parser.add_argument("--precision", default="auto", help="as `live` (auto: int8 on x86)")
    args = parser.parse_args()

    device = torch.device("cpu")
    model, processor = full_size_fused(device)
    precision = choose_precision(args.precision, device)
    clap = Clap(
        "htsat-fused (random weights)",
        model,
        processor,
        device,
        PRECISIONS.get(precision, torch.float32),
        int8=precision == INT8,
    )
    embedder = Batcher(clap)
    embedder.embed([np.zeros(10 * SR, dtype=np.float32)])  # warm-up
    print(
        f"CPU, {precision}, torch threads {torch.get_num_threads()}, streams of {args.seconds:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events = [("a whistle", 10.0, 20.0), ("clicking", 30.0, 40.0)]
        audio = make_vod(events, args.seconds, SR, np.random.default_rng(0))
        first = write_media(folder / "stream-1.flac", audio, SR)
        for n in (int(s) for s in args.streams.split(",")):
            media = [first] + [
                Path(shutil.copy(first, folder / f"stream-{i + 1}.flac")) for i in range(1, n)
            ]
            run(embedder, media, folder / f"home-{n}", args.hop)


if __name__ == "__main__":
    main()
