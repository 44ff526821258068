"""End-to-end analysis speed, memory and re-score time, with ratios from one run.

Builds an H-hour synthetic VOD (pink noise + tones, AAC in .m4a) with ffmpeg, then runs
the engine (decode → windows → embed → store) at the default 10 s window / 5 s hop, and
prints ×realtime, windows/s and peak RSS. With ``--pipeline-windows N`` it also loops the
transformers zero-shot pipeline over the first N windows of the same audio with the
same model and prints the ratio (the pipeline is not charged for decoding). The pipeline's
windows run half before and half after the analysis, so a machine that gets busier or
quieter during the run shifts both sides alike. ``--precision auto`` (the default) is what
``analyze`` picks: int8 on an x86 CPU with AVX2, bf16 on CUDA.

    python bench/bench_analyze.py --hours 1 --model full --pipeline-windows 48
    python bench/bench_analyze.py --hours 10 --model tiny        # RSS flat in duration
    python bench/bench_analyze.py --hours 3 --model tiny --rescore
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python bench/bench_analyze.py \
        --hours 0.1667 --pipeline-windows 24           # an AVX2-only CPU, emulated
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import torch
from transformers import pipeline

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_embed import LABELS, full_size_fused  # noqa: E402

from emotion.analysis import embed_source, score  # noqa: E402
from emotion.library.store import Store  # noqa: E402
from emotion.media.audio import ffmpeg_exe, stream_audio  # noqa: E402
from emotion.media.sources import open_source, source_identity  # noqa: E402
from emotion.model.clap import PRECISIONS, Clap, choose_precision, load_clap  # noqa: E402
from emotion.model.names import INT8  # noqa: E402
from emotion.scoring.windows import iter_windows  # noqa: E402

TINY = REPO / "tests" / "fixtures" / "tiny-clap"


def make_vod(path: Path, hours: float) -> Path:
    if not path.exists():
        seconds = hours * 3600
        graph = (
            f"anoisesrc=d={seconds}:c=pink:r=48000:a=0.05[n];"
            f"sine=f=440:r=48000:d={seconds}[s];[n][s]amix=inputs=2:weights=1 0.2"
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--model", choices=["full", "tiny"], default="full")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16, fp16 or int8")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--pipeline-windows", type=int, default=24, help="0 skips the pipeline")
    parser.add_argument("--rescore", action="store_true", help="also time re-scoring")
    parser.add_argument("--media-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    device = torch.device(args.device)
    if args.model == "full":
        model, processor = full_size_fused(device)
        name = choose_precision(args.precision, device)
        clap = Clap(
            "htsat-fused (random weights)",
            model,
            processor,
            device,
            PRECISIONS.get(name, torch.float32),
            int8=name == INT8,
        )
        pipe_model = full_size_fused(device)[0]  # the same weights, unquantized
    else:
        clap = load_clap(str(TINY), device=args.device, precision=args.precision)
        pipe_model = load_clap(str(TINY), device=args.device, precision="fp32").model
    vod = make_vod(args.media_dir / f"hypeline-bench-{args.hours:g}h.m4a", args.hours)
    source = open_source(str(vod))
    print(
        f"{vod.name}: {source.duration_s:.0f} s, model {clap.name}, device {device}, "
        f"precision {clap.precision}, cpu capability {torch.backends.cpu.get_cpu_capability()}, "
        f"torch threads {torch.get_num_threads()}, RSS before {peak_rss_mb():.0f} MB"
    )

    pipe_time = 0.0
    if args.pipeline_windows:
        classifier = pipeline(
            "zero-shot-audio-classification",
            model=pipe_model,
            feature_extractor=clap.processor.feature_extractor,
            tokenizer=clap.processor.tokenizer,
            device=device,
        )
        chunks = stream_audio(source.path, clap.sampling_rate)
        windows = [
            w.samples
            for w in islice(iter_windows(chunks, clap.sampling_rate, 10, 5), args.pipeline_windows)
        ]
        classifier(windows[0], candidate_labels=LABELS)
        half = len(windows) // 2
        t0 = time.perf_counter()
        for w in windows[:half]:
            classifier(w, candidate_labels=LABELS)
        pipe_time += time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as home:
        store = Store(Path(home))
        t0 = time.perf_counter()
        record = embed_source(
            clap, store, source, source_identity(source), batch_size=args.batch_size
        )
        elapsed = time.perf_counter() - t0
        rate = record.n_done / elapsed
        print(
            f"hypeline end to end: {record.n_done} windows in {elapsed:.1f} s = "
            f"{rate:.1f} windows/s, {record.duration_s / elapsed:.1f}x realtime, "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )

        if args.rescore:
            vectors = store.vectors(record)
            timings = []
            for _ in range(5):  # first call embeds the prompts, later ones hit the cache
                t0 = time.perf_counter()
                score(record, store.vectors(record), clap, LABELS[:4], LABELS[4:])
                timings.append(time.perf_counter() - t0)
            print(
                f"re-score {vectors.shape[0]} windows ({record.duration_s / 3600:.1f} h): "
                f"first {1000 * timings[0]:.1f} ms (prompts embedded), then "
                f"{1000 * min(timings[1:]):.1f} ms (load vectors + scores + highlights)"
            )

    if args.pipeline_windows:
        t0 = time.perf_counter()
        for w in windows[half:]:
            classifier(w, candidate_labels=LABELS)
        pipe_time += time.perf_counter() - t0
        pipe_rate = len(windows) / pipe_time
        print(
            f"transformers pipeline loop (fp32): {pipe_rate:.1f} windows/s "
            f"({pipe_rate * 5:.1f}x realtime at a 5 s hop); hypeline ({clap.precision}) is "
            f"{rate / pipe_rate:.2f}x"
        )


if __name__ == "__main__":
    main()
