"""Embedding throughput: our batched path in each precision vs a loop of the transformers pipeline.

All score the same 10 s windows of the same audio against the same labels with the same
model: a full-size htsat-fused built from ``ClapConfig`` with random weights (timing does
not need trained weights, and the hub is out of reach here). The variants run interleaved
in rounds (best round kept), so a busy machine slows them alike; prints one table:
windows/s, the ratio to the pipeline, and each precision's worst cosine and top-label
agreement against fp32 over the same windows.

    python bench/bench_embed.py                         # CPU: fp32 and int8
    python bench/bench_embed.py --device cuda --precisions fp32,bf16 --batch-sizes 8,32,64
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python bench/bench_embed.py  # AVX2 CPU
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import (
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapProcessor,
    RobertaTokenizerFast,
    pipeline,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion.model.clap import PRECISIONS, Clap, choose_precision  # noqa: E402
from emotion.model.names import INT8  # noqa: E402
from emotion.scoring.prompts import prompts_for, zero_shot_probabilities  # noqa: E402

LABELS = ["win celebration", "fail frustration", "crowd cheering", "laughter", "calm talking"]
SR = 48_000


def full_size_fused(device: torch.device) -> tuple[ClapModel, ClapProcessor]:
    """laion/clap-htsat-fused's architecture and preprocessing, random weights."""
    torch.manual_seed(0)
    config = ClapConfig(audio_config={"enable_fusion": True}, text_config={}, projection_dim=512)
    model = ClapModel(config).eval().to(device)
    extractor = ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=SR,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14_000,
        truncation="fusion",
        padding="repeatpad",
    )
    tokenizer = RobertaTokenizerFast.from_pretrained(REPO / "tests" / "fixtures" / "tiny-clap")
    return model, ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer)


def windows(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(10 * SR) / SR
    return [
        (0.1 * rng.standard_normal(10 * SR) + 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(
            np.float32
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=32)
    parser.add_argument("--batch-sizes", default="8")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="fp32,int8", help="the first is the reference")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pipeline-windows", type=int, default=8, help="0 skips the pipeline")
    args = parser.parse_args()

    device = torch.device(args.device)
    clips = windows(args.windows)
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, cpu capability "
        f"{torch.backends.cpu.get_cpu_capability()}, {args.windows} windows of 10 s"
    )
    runs: dict[str, Callable[[], object]] = {}
    if args.pipeline_windows:
        model, processor = full_size_fused(device)
        classifier = pipeline(
            "zero-shot-audio-classification",
            model=model,
            feature_extractor=processor.feature_extractor,
            tokenizer=processor.tokenizer,
            device=device,
        )
        classifier(clips[0], candidate_labels=LABELS)  # warm-up
        few = clips[: args.pipeline_windows]
        runs["transformers pipeline (fp32)"] = lambda: [
            classifier(c, candidate_labels=LABELS) for c in few
        ]
    embeddings: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for precision in args.precisions.split(","):
        model, processor = full_size_fused(device)
        name = choose_precision(precision, device)
        clap = Clap(
            "htsat-fused (random weights)",
            model,
            processor,
            device,
            PRECISIONS.get(name, torch.float32),
            int8=name == INT8,
        )
        texts[name] = clap.embed_text(prompts_for(LABELS))
        embeddings[name] = clap.embed_audio(clips)  # also the warm-up
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            runs[f"hypeline {name}, batch {batch_size}"] = functools.partial(
                embed_all, clap, clips, texts[name], batch_size
            )
    counts = {
        k: args.pipeline_windows if k.startswith("transformers") else len(clips) for k in runs
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.rounds):
        for key, run in runs.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            run()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[key] = min(best[key], time.perf_counter() - t0)

    reference = next(iter(embeddings))
    ref_top = (embeddings[reference] @ texts[reference].T).argmax(1)
    pipe = next((k for k in runs if k.startswith("transformers")), None)
    pipe_rate = counts[pipe] / best[pipe] if pipe else None
    print(
        f"{'variant':32s} {'windows/s':>9s} {'x pipeline':>10s} {'cos min':>8s} {'top agree':>9s}"
    )
    for key in runs:
        rate = counts[key] / best[key]
        ratio = f"{rate / pipe_rate:10.2f}" if pipe_rate else f"{'-':>10s}"
        quality = f"{'(ref)':>8s} {'(ref)':>9s}"
        name = key.split(",")[0].removeprefix("hypeline ")
        if name in embeddings and name != reference:
            cos = (embeddings[name] * embeddings[reference]).sum(1).min()
            agree = ((embeddings[name] @ texts[name].T).argmax(1) == ref_top).mean()
            quality = f"{cos:8.4f} {100 * agree:8.1f}%"
        elif key == pipe:
            quality = f"{'-':>8s} {'-':>9s}"
        print(f"{key:32s} {rate:9.2f} {ratio} {quality}")


def embed_all(clap: Clap, clips: list[np.ndarray], text: np.ndarray, batch_size: int) -> None:
    for i in range(0, len(clips), batch_size):
        emb = clap.embed_audio(clips[i : i + batch_size])
        zero_shot_probabilities(emb, text, clap.logit_scale)


if __name__ == "__main__":
    main()
