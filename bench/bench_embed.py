"""Embedding throughput: our batched path vs a loop of the transformers pipeline.

Both score the same 10 s windows of the same audio against the same labels with the same
model: a full-size htsat-fused built from ``ClapConfig`` with random weights (timing does
not need trained weights, and the hub is out of reach here). Prints windows/s and the
ratio from one run.

    python bench/bench_embed.py                         # CPU
    python bench/bench_embed.py --device cuda --precision bf16 --batch-sizes 8,32,64
"""

from __future__ import annotations

import argparse
import sys
import time
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

from emotion.model import Clap, resolve_precision  # noqa: E402
from emotion.scoring import prompts_for, zero_shot_probabilities  # noqa: E402

LABELS = ["win celebration", "fail frustration", "crowd cheering", "laughter", "calm talking"]
SR = 48_000


def full_size_fused(device: torch.device) -> tuple[ClapModel, ClapProcessor]:
    """laion/clap-htsat-fused's architecture and preprocessing, random weights."""
    torch.manual_seed(0)
    config = ClapConfig(audio_config={"enable_fusion": True}, text_config={}, projection_dim=512)
    model = ClapModel(config).eval().to(device)
    extractor = ClapFeatureExtractor(
        feature_size=64, sampling_rate=SR, hop_length=480, max_length_s=10,
        fft_window_size=1024, frequency_min=50, frequency_max=14_000,
        truncation="fusion", padding="repeatpad",
    )  # fmt: skip
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
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--pipeline-windows", type=int, default=8, help="0 skips the pipeline")
    args = parser.parse_args()

    device = torch.device(args.device)
    model, processor = full_size_fused(device)
    clips = windows(args.windows)
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, {args.windows} windows of 10 s"
    )

    rate_pipe = None
    if args.pipeline_windows:
        classifier = pipeline(
            "zero-shot-audio-classification",
            model=model,
            feature_extractor=processor.feature_extractor,
            tokenizer=processor.tokenizer,
            device=device,
        )
        classifier(clips[0], candidate_labels=LABELS)  # warm-up
        t0 = time.perf_counter()
        for clip in clips[: args.pipeline_windows]:
            classifier(clip, candidate_labels=LABELS)
        rate_pipe = args.pipeline_windows / (time.perf_counter() - t0)
        print(f"transformers pipeline, one window per call (fp32): {rate_pipe:8.2f} windows/s")

    dtype = resolve_precision(args.precision, device)
    clap = Clap("htsat-fused (random weights)", model, processor, device, dtype)
    text = clap.embed_text(prompts_for(LABELS))
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        clap.embed_audio(clips[:batch_size])  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for i in range(0, len(clips), batch_size):
            emb = clap.embed_audio(clips[i : i + batch_size])
            zero_shot_probabilities(emb, text, clap.logit_scale)
        rate = len(clips) / (time.perf_counter() - t0)
        ratio = f"  ({rate / rate_pipe:.2f}x the pipeline)" if rate_pipe else ""
        print(
            f"hypeline batched, batch {batch_size:3d}, {args.precision}: {rate:8.2f} windows/s{ratio}"
        )


if __name__ == "__main__":
    main()
