"""HTTP API throughput: classify requests/s and latency, micro-batching on and off.

A real uvicorn server on 127.0.0.1 serves a full-size htsat-fused (random weights, from
``bench_embed.full_size_fused``: speed does not depend on the weights) on the CPU; client
threads post 10 s WAV clips to ``/api/classify`` at concurrency 1, 8 and 32, with
micro-batching (``--max-batch``) as the server does it (the device's wait for company:
none on a CPU), with a 5 ms wait (a GPU's), and batch-of-one serving (max_batch 1). The
target, on a GPU: micro-batching ≥ 1.5x batch-of-one's requests/s at concurrency 8.

    python bench/bench_api.py
    python bench/bench_api.py --concurrency 1,8 --requests-per-client 4
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import torch
import uvicorn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_embed import LABELS, SR, full_size_fused, windows  # noqa: E402

from emotion.model.clap import PRECISIONS, Clap, choose_precision  # noqa: E402
from emotion.model.names import INT8  # noqa: E402
from service.config import ServeConfig  # noqa: E402
from service.main import create_app  # noqa: E402
from tests.apiserver import free_port  # noqa: E402


def wav_bytes(samples: np.ndarray) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def run(
    clap: Clap,
    max_batch: int,
    wait_s: float | None,
    concurrency: int,
    per_client: int,
    clips: list[bytes],
) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        config = ServeConfig(port=port, max_batch=max_batch, batch_wait_s=wait_s, home=Path(home))
        server = uvicorn.Server(
            uvicorn.Config(create_app(config, clap), host="127.0.0.1", port=port, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        while not server.started:
            time.sleep(0.05)
        data = {"labels": ", ".join(LABELS)}
        httpx.post(
            url + "/api/classify", data=data, files={"audio": ("w.wav", clips[0])}, timeout=300
        ).raise_for_status()  # warm-up

        def client(c: int) -> list[float]:
            latencies = []
            with httpx.Client(timeout=600) as http:
                for r in range(per_client):
                    clip = clips[(c + r) % len(clips)]
                    t0 = time.perf_counter()
                    answer = http.post(
                        url + "/api/classify", data=data, files={"audio": ("w.wav", clip)}
                    )
                    answer.raise_for_status()
                    latencies.append(time.perf_counter() - t0)
            return latencies

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = [x for xs in pool.map(client, range(concurrency)) for x in xs]
        elapsed = time.perf_counter() - t0
        model = httpx.get(url + "/api/model").json()
        server.should_exit = True
        thread.join(timeout=30)
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "mean_batch": (model["clips"] - 1) / max(1, model["batches"] - 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument(
        "--requests-per-client",
        type=int,
        default=0,
        help="default: enough for 16 requests per run, at least 2 per client",
    )
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--precision", default="auto", help="as the server's (auto: int8 on x86)")
    parser.add_argument(
        "--one", help=argparse.SUPPRESS
    )  # "CONCURRENCY,MAX_BATCH,PER_CLIENT,WAIT_MS"
    args = parser.parse_args()
    if args.one:
        concurrency, max_batch, per_client, wait_ms = map(int, args.one.split(","))
        device = torch.device("cpu")
        model, processor = full_size_fused(device)
        precision = choose_precision(args.precision, device)
        clap = Clap(
            "full-size htsat-fused",
            model,
            processor,
            device,
            PRECISIONS.get(precision, torch.float32),
            int8=precision == INT8,
        )
        clips = [wav_bytes(w) for w in windows(8)]
        wait_s = None if wait_ms < 0 else wait_ms / 1000  # -1: the device's wait
        print(json.dumps(run(clap, max_batch, wait_s, concurrency, per_client, clips)))
        return

    precision = choose_precision(args.precision, torch.device("cpu"))
    print(
        f"CPU, {precision}, torch threads {torch.get_num_threads()}, 10 s clips, "
        f"{len(LABELS)} labels"
    )
    print(
        f"{'concurrency':>11} {'batching':>9} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'batch':>6}"
    )
    table: dict[tuple[int, str], list[dict]] = {}
    modes = {"on": (args.max_batch, -1), "on, 5 ms": (args.max_batch, 5), "off": (1, -1)}
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        per_client = args.requests_per_client or max(2, -(-16 // concurrency))
        # Each mode twice, in the order A B C C B A: a run measured faster or slower by its
        # place in the sequence (the machine warming, a neighbour's load) weighs on all alike.
        order = list(modes) + list(reversed(modes))
        for label in order:
            max_batch, wait_ms = modes[label]
            # A fresh process per run: a second server in one process measured several
            # times slower than the first whatever its settings (torch's thread pools).
            one = f"{concurrency},{max_batch},{per_client},{wait_ms}"
            out = subprocess.run(
                [sys.executable, __file__, "--one", one, "--precision", args.precision],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            table.setdefault((concurrency, label), []).append(r)
            print(
                f"{concurrency:>11} {label:>9} {r['rps']:>7.2f} {r['p50']:>7.2f} "
                f"{r['p95']:>7.2f} {r['mean_batch']:>6.1f}",
                flush=True,
            )
    for concurrency in sorted({c for c, _ in table}):
        off, on, waiting = (
            statistics.mean(r["rps"] for r in table[concurrency, label])
            for label in ("off", "on", "on, 5 ms")
        )
        print(
            f"concurrency {concurrency}: micro-batching gives {on / off:.2f}x the requests/s "
            f"of batch-of-one ({waiting / off:.2f}x waiting 5 ms)"
        )


if __name__ == "__main__":
    main()
