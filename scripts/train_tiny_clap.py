"""Train the tiny CLAP checkpoint that the test-suite uses, on synthetic sounds.

    python scripts/train_tiny_clap.py [--out tests/fixtures/tiny-clap]

Recipe (see TINY_CLAP.md): a byte-level BPE tokenizer trained on the captions; stage 1
trains the text tower alone so every class prompt gets a distinct, template-invariant
embedding; stage 2 freezes it and trains the audio tower against those embeddings on
clips made by ``tests/synth.py`` and featurised by the real ``ClapFeatureExtractor``.
The script then reloads the saved folder like a hub checkpoint, measures zero-shot
accuracy on held-out clips, and runs a 10 s / 5 s-hop windowed pass over a synthetic VOD
that went through AAC. Deterministic on CPU; a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from transformers import (  # noqa: E402
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapProcessor,
    ClapTextConfig,
    RobertaTokenizerFast,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from tests.synth import CLASSES, SAMPLE_RATE, make_clip, make_vod  # noqa: E402

OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "tiny-clap"
SEED = 1234
EVAL_SEED = 98765
N_THREADS = 2

CAPTIONS = list(CLASSES)
DEFAULT_TEMPLATE = "This is a sound of {}."
TEMPLATES = ["{}", DEFAULT_TEMPLATE, "the sound of {}", "{} can be heard"]
# Extra prompts trained as their own classes in stage 1, so that prompts a test or a user
# may type land away from the synthetic classes instead of collapsing onto one of them.
DISTRACTORS = [
    "music",
    "speech",
    "laughter",
    "applause",
    "cheering",
    "a dog barking",
    "an explosion",
    "footsteps",
    "rain",
    "win celebration",
    "fail frustration",
    "chat going wild",
]

MAX_POSITIONS = 130  # RoBERTa positions start at pad_id + 1, so 128 tokens fit
CLIP_MIN_S, CLIP_MAX_S = 2.0, 10.0
CLIPS_PER_CLASS = 300
PARTIAL_FRACTION = 0.5  # share of event clips where the event covers only part of 10 s
WINDOW_S, HOP_S = 10.0, 5.0


def feature_extractor() -> ClapFeatureExtractor:
    """The real CLAP front end, as in laion/clap-htsat-fused's preprocessor config."""
    return ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=48000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14000,
        truncation="fusion",
        padding="repeatpad",
    )


# ---------------------------------------------------------------- tokenizer and config


def build_tokenizer(workdir: Path) -> RobertaTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    corpus = [t.format(c) for c in CAPTIONS + DISTRACTORS for t in TEMPLATES]
    corpus += ["This is a sound of", "a recording of", "the sound of"]
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa ids 0..4
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        min_frequency=1,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), add_prefix_space=False
    )
    path = workdir / "tokenizer.json"
    tok.save(str(path))
    return RobertaTokenizerFast(
        tokenizer_file=str(path),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=MAX_POSITIONS - 2,
    )


def build_config(vocab_size: int) -> ClapConfig:
    audio = ClapAudioConfig(
        depths=[1, 1, 1, 1],
        num_attention_heads=[1, 2, 2, 4],
        patch_embeds_hidden_size=16,
        hidden_size=128,
        window_size=8,
        spec_size=256,
        num_mel_bins=64,
        enable_fusion=True,
    )
    text = ClapTextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=MAX_POSITIONS,
    )
    return ClapConfig(
        text_config=text.to_dict(),
        audio_config=audio.to_dict(),
        projection_dim=32,
        logit_scale_init_value=20.0,
    )


# ---------------------------------------------------------------- synthetic data


def event_weight(overlap_s: float) -> float:
    """Target probability of an event that covers ``overlap_s`` of a 10 s window.

    The rest goes to "silence". A window with 4 s of the event or more is the event; one
    with a sliver of it (2 s or less) is not, so a highlight built from 5 s cells (each
    the mean of the two windows over it) does not spill a whole hop past the event.
    """
    return float(np.clip((overlap_s / WINDOW_S - 0.2) / 0.2, 0.0, 1.0))


def _make_example(args: tuple[int, int, int]) -> tuple[np.ndarray, float]:
    """Features (channel 0 of the fusion stack, [1001, 64]) of one clip, and the seconds
    of the 10 s window that the event covers (10 for a whole clip: repeatpad fills it)."""
    seed, index, label = args
    rng = np.random.default_rng([seed, index])
    caption = CAPTIONS[label]
    overlap_s = WINDOW_S
    if caption != "silence" and rng.random() < PARTIAL_FRACTION:
        # A 10 s window, cut from the middle of a 20 s track, that holds only part of the
        # event: inside it, or cut by its left or right edge, as around a VOD event.
        overlap_s = rng.uniform(0.5, WINDOW_S)
        extra_s = rng.uniform(1.0, 5.0)
        a, b = WINDOW_S / 2, WINDOW_S * 1.5  # the window inside the track
        placement = int(rng.integers(3))
        if placement == 0:  # inside the window
            start_s = a + rng.uniform(0.0, WINDOW_S - overlap_s)
            end_s = start_s + overlap_s
        elif placement == 1:  # began before the window
            start_s, end_s = a - extra_s, a + overlap_s
        else:  # goes on after the window
            start_s, end_s = b - overlap_s, b + extra_s
        track = make_vod([(caption, start_s, end_s)], 2 * WINDOW_S, SAMPLE_RATE, rng)
        audio = track[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
    else:
        duration_s = rng.uniform(CLIP_MIN_S, CLIP_MAX_S)
        bed_level = 0.0 if (caption == "silence" and rng.random() < 0.1) else None
        audio = make_clip(caption, duration_s, SAMPLE_RATE, rng, bed_level=bed_level)
    mel = _FE(audio, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"][0, 0]
    return mel, overlap_s


def _init_worker() -> None:
    global _FE
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    _FE = feature_extractor()


def build_dataset(seed: int, per_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mels [n, 1001, 64], class labels [n] and event weights [n] (1 = the clip is the event)."""
    labels = np.repeat(np.arange(len(CAPTIONS)), per_class)
    jobs = [(seed, i, int(label)) for i, label in enumerate(labels)]
    with ProcessPoolExecutor(max_workers=N_THREADS, initializer=_init_worker) as pool:
        examples = list(pool.map(_make_example, jobs, chunksize=32))
    mels = np.stack([m for m, _ in examples]).astype(np.float32)
    weights = np.array([event_weight(o) for _, o in examples], dtype=np.float32)
    return mels, labels, weights


# ---------------------------------------------------------------- stage 1: text tower


def text_embeddings(model: ClapModel, tokenizer, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    return model.get_text_features(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).pooler_output


def train_text(model: ClapModel, tokenizer, steps: int = 600, tau: float = 0.05) -> None:
    """Supervised contrast between templated views of each caption (distractors included)."""
    names = CAPTIONS + DISTRACTORS
    texts = [t.format(c) for c in names for t in TEMPLATES]
    labels = torch.arange(len(names)).repeat_interleave(len(TEMPLATES))
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(texts), dtype=torch.bool)
    params = list(model.text_model.parameters()) + list(model.text_projection.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    model.text_model.train()
    model.text_projection.train()
    for step in range(steps):
        emb = text_embeddings(model, tokenizer, texts)
        sim = (emb @ emb.T / tau).masked_fill(eye, -1e9)
        log_prob = sim.log_softmax(dim=1)
        pos = same & ~eye
        loss = -(log_prob * pos).sum(1).div(pos.sum(1)).mean()
        # Contrast alone stops pushing once negatives are far enough; also keep every pair
        # of class centroids below cos 0.1 so no two prompts mean nearly the same thing.
        centroids = F.normalize(emb.reshape(len(names), len(TEMPLATES), -1).mean(1), dim=-1)
        off = (centroids @ centroids.T)[~torch.eye(len(names), dtype=torch.bool)]
        loss = loss + 10.0 * F.relu(off - 0.1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  text step {step:4d}  loss {loss.item():.4f}", flush=True)
    model.text_model.eval()
    model.text_projection.eval()
    for p in params:
        p.requires_grad_(False)


# ---------------------------------------------------------------- stage 2: audio tower


def train_audio(
    model: ClapModel,
    mels: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    targets: torch.Tensor,
    epochs: int,
    batch_size: int = 32,
    lr: float = 2e-3,
) -> None:
    """Contrast audio embeddings against the frozen text embeddings of each class.

    ``targets`` is [n_templates, n_classes, d]: the loss is averaged over templates so the
    bare label and every training template work as prompts. A clip's target distribution
    is ``weights`` on its class and the rest on "silence".
    """
    encoder = model.audio_model.audio_encoder
    # Fix the input BatchNorm to the dataset's per-mel-bin statistics and keep every
    # BatchNorm in eval mode, so training sees exactly what inference will see.
    flat = torch.from_numpy(mels).reshape(-1, mels.shape[-1])
    encoder.batch_norm.running_mean.copy_(flat.mean(0))
    encoder.batch_norm.running_var.copy_(flat.var(0))
    del flat

    params = list(model.audio_model.parameters()) + list(model.audio_projection.parameters())
    params.append(model.logit_scale_a)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    n = len(labels)
    steps_per_epoch = n // batch_size
    total = epochs * steps_per_epoch
    warmup = max(1, steps_per_epoch // 2)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))),
    )
    gen = torch.Generator().manual_seed(SEED)
    x_all = torch.from_numpy(mels)
    # Soft targets: [n, n_classes]
    q_all = torch.zeros(len(labels), len(CAPTIONS))
    q_all[torch.arange(len(labels)), torch.from_numpy(labels)] = torch.from_numpy(weights)
    q_all[:, CAPTIONS.index("silence")] += torch.from_numpy(1.0 - weights)
    step = 0
    for epoch in range(epochs):
        model.audio_model.train()
        model.audio_projection.train()
        for module in model.audio_model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
        order = torch.randperm(n, generator=gen)
        correct, seen, loss_sum = 0, 0, 0.0
        t0 = time.time()
        for b in range(steps_per_epoch):
            idx = order[b * batch_size : (b + 1) * batch_size]
            x = x_all[idx].unsqueeze(1)
            # Random circular time shift: events and repeats land anywhere in the window.
            shift = int(torch.randint(0, x.shape[2], (1,), generator=gen))
            x = torch.roll(x, shifts=shift, dims=2)
            q = q_all[idx]
            is_longer = torch.zeros(len(idx), 1, dtype=torch.bool)
            emb = model.get_audio_features(input_features=x, is_longer=is_longer).pooler_output
            scale = model.logit_scale_a.exp()
            logits = scale * torch.einsum("bd,tcd->tbc", emb, targets)
            loss = -(q * logits.log_softmax(-1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale_a.clamp_(math.log(10.0), math.log(30.0))
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += int((logits.mean(0).argmax(1) == q.argmax(1)).sum())
            seen += len(idx)
        print(
            f"  audio epoch {epoch + 1}/{epochs}  loss {loss_sum / seen:.4f}  train acc {correct / seen:.3f}"
            f"  scale {model.logit_scale_a.exp().item():.1f}  {time.time() - t0:.0f}s",
            flush=True,
        )
    model.eval()


# ---------------------------------------------------------------- evaluation


def ffmpeg_roundtrip(audio: np.ndarray, suffix: str, codec_args: list[str]) -> np.ndarray:
    """Encode with ffmpeg to a lossy file and decode it back to 48 kHz mono float32."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vod" + suffix)
        subprocess.run(
            [
                exe,
                "-v",
                "error",
                "-y",
                "-f",
                "f32le",
                "-ar",
                str(SAMPLE_RATE),
                "-ac",
                "1",
                "-i",
                "pipe:0",
                *codec_args,
                path,
            ],
            input=audio.astype(np.float32).tobytes(),
            check=True,
            capture_output=True,
        )
        out = subprocess.run(
            [
                exe,
                "-v",
                "error",
                "-i",
                path,
                "-f",
                "f32le",
                "-ac",
                "1",
                "-ar",
                str(SAMPLE_RATE),
                "pipe:1",
            ],
            check=True,
            capture_output=True,
        )
    return np.frombuffer(out.stdout, dtype=np.float32).copy()


@torch.no_grad()
def embed_audio(
    model: ClapModel, processor: ClapProcessor, audios: list[np.ndarray]
) -> torch.Tensor:
    """Normalised audio embeddings via the saved processor, ``is_longer`` False as in the product."""
    out = []
    for i in range(0, len(audios), 32):
        feats = processor.feature_extractor(
            audios[i : i + 32], sampling_rate=SAMPLE_RATE, return_tensors="pt"
        )
        is_longer = torch.zeros(len(feats["input_features"]), 1, dtype=torch.bool)
        out.append(
            model.get_audio_features(
                input_features=feats["input_features"], is_longer=is_longer
            ).pooler_output
        )
    return torch.cat(out)


@torch.no_grad()
def probabilities(
    model: ClapModel,
    processor: ClapProcessor,
    audio_emb: torch.Tensor,
    labels: list[str],
    template: str,
) -> np.ndarray:
    """Softmax over ``labels`` with the model's logit scale: [n_audios, n_labels]."""
    text_emb = text_embeddings(model, processor.tokenizer, [template.format(c) for c in labels])
    return (model.logit_scale_a.exp() * audio_emb @ text_emb.T).softmax(-1).numpy()


def print_confusion(truth: np.ndarray, pred: np.ndarray, names: list[str]) -> None:
    width = max(len(n) for n in names)
    print(" " * (width + 2) + " ".join(f"{n[:6]:>6s}" for n in names))
    for i, name in enumerate(names):
        row = [(pred[truth == i] == j).sum() for j in range(len(names))]
        print(f"{name:>{width}s}  " + " ".join(f"{v:6d}" for v in row))


@torch.no_grad()
def evaluate(out_dir: Path, per_class: int = 40) -> bool:
    """Reload ``out_dir`` like a hub checkpoint and check the acceptance criteria."""
    model = ClapModel.from_pretrained(out_dir).eval()
    processor = ClapProcessor.from_pretrained(out_dir)
    ok = True

    names = CAPTIONS + DISTRACTORS
    emb = text_embeddings(model, processor.tokenizer, [DEFAULT_TEMPLATE.format(c) for c in names])
    cos = (emb @ emb.T).numpy()
    print(f"\nCosine of class prompts ({DEFAULT_TEMPLATE!r}):")
    print(" " * 11 + " ".join(f"{c[:6]:>6s}" for c in CAPTIONS))
    for i, c in enumerate(CAPTIONS):
        print(f"{c[:10]:>10s} " + " ".join(f"{cos[i, j]:6.2f}" for j in range(len(CAPTIONS))))
    k = len(CAPTIONS)
    off = cos[:k, :k][~np.eye(k, dtype=bool)]
    all_off = cos[~np.eye(len(names), dtype=bool)]
    print(f"max off-diagonal: classes {off.max():.2f}, classes+distractors {all_off.max():.2f}")
    bare = text_embeddings(model, processor.tokenizer, CAPTIONS)
    print("cos(bare label, default template):", np.round((bare * emb[:k]).sum(1).numpy(), 3))
    ok &= bool(off.max() < 0.5)

    rng = np.random.default_rng(EVAL_SEED)
    truth, audios = [], []
    for label, caption in enumerate(CAPTIONS):
        for _ in range(per_class):
            audios.append(make_clip(caption, rng.uniform(CLIP_MIN_S, CLIP_MAX_S), SAMPLE_RATE, rng))
            truth.append(label)
    truth = np.array(truth)
    audio_emb = embed_audio(model, processor, audios)
    for template in (DEFAULT_TEMPLATE, "{}"):
        probs = probabilities(model, processor, audio_emb, CAPTIONS, template)
        pred = probs.argmax(1)
        acc = float((pred == truth).mean())
        p_true = float(probs[np.arange(len(truth)), truth].mean())
        print(
            f"\nHeld-out zero-shot, template {template!r}: accuracy {acc:.3f} "
            f"(n={len(truth)}), mean p(true) {p_true:.3f}"
        )
        print_confusion(truth, pred, CAPTIONS)
        ok &= acc >= 0.95

    subset = ["a whistle", "clicking", "silence"]
    keep = np.isin(truth, [CAPTIONS.index(c) for c in subset])
    sub_truth = np.array([subset.index(CAPTIONS[t]) for t in truth[keep]])
    probs = probabilities(
        model, processor, audio_emb[torch.from_numpy(keep)], subset, DEFAULT_TEMPLATE
    )
    acc = float((probs.argmax(1) == sub_truth).mean())
    p_true = float(probs[np.arange(len(sub_truth)), sub_truth].mean())
    print(f"\nLabel subset {subset}: accuracy {acc:.3f}, mean p(true) {p_true:.3f}")
    ok &= acc >= 0.95

    ok &= check_vod(model, processor)
    return ok


def check_vod(model: ClapModel, processor: ClapProcessor) -> bool:
    """10 s / 5 s-hop windows over a synthetic VOD after lossy round trips."""
    duration_s = 120.0
    events = [
        ("a whistle", 10.0, 25.0),
        ("clicking", 40.0, 52.0),
        ("hissing", 70.0, 77.0),
        ("a siren", 95.0, 108.0),
    ]
    vod = make_vod(events, duration_s, SAMPLE_RATE, np.random.default_rng(EVAL_SEED + 1))
    codecs = {
        "AAC/m4a 128k": (".m4a", ["-c:a", "aac", "-b:a", "128k"]),
        "Opus/mkv 64k": (".mkv", ["-c:a", "libopus", "-b:a", "64k"]),
        "MP3 128k @44.1k": (".mp3", ["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k"]),
    }
    starts = np.arange(0.0, duration_s - WINDOW_S + 1e-6, HOP_S)
    win = int(WINDOW_S * SAMPLE_RATE)
    ok = True
    for name, (suffix, args) in codecs.items():
        audio = ffmpeg_roundtrip(vod, suffix, args)
        windows = [audio[int(s * SAMPLE_RATE) : int(s * SAMPLE_RATE) + win] for s in starts]
        audio_emb = embed_audio(model, processor, windows)
        probs = probabilities(model, processor, audio_emb, CAPTIONS, DEFAULT_TEMPLATE)
        print(f"\nVOD {duration_s:.0f} s through {name}, events {events}")
        bad = 0
        for s, p in zip(starts, probs, strict=True):
            overlaps = [(c, min(s + WINDOW_S, b) - max(s, a)) for c, a, b in events]
            caption, overlap = max(overlaps, key=lambda o: o[1])
            got = CAPTIONS[int(p.argmax())]
            p_event = float(p[CAPTIONS.index(caption)])
            if overlap > 7.0:  # nearly all event: that label, confidently
                good, want = got == caption and p_event >= 0.9, f"{caption} >= 0.9"
            elif overlap >= WINDOW_S / 2:  # half of it or more: that label wins
                good, want = got == caption, caption
            elif overlap <= 0:  # bed only
                good, want = got == "silence", "silence"
            elif overlap <= 2.0:  # a sliver: must not look like the whole event
                good, want = p_event <= 0.75, f"p({caption}) <= 0.75"
            else:
                good, want = True, ""
            bad += not good
            mark = "" if good else f"   <-- expected {want}"
            print(
                f"  {s:5.0f}-{s + WINDOW_S:5.0f} s  overlap {max(overlap, 0):4.1f} s  "
                f"{got:10s} p={p.max():.2f}  p(event)={p_event:.2f}{mark}"
            )
        ok &= bad == 0
    return ok


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--clips-per-class", type=int, default=CLIPS_PER_CLASS)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--eval-only", action="store_true", help="only evaluate the checkpoint in --out"
    )
    args = parser.parse_args()

    hf_logging.set_verbosity_error()
    torch.set_num_threads(N_THREADS)
    torch.use_deterministic_algorithms(True)
    if args.eval_only:
        sys.exit(0 if evaluate(args.out) else 1)

    t_start = time.time()
    np.random.seed(SEED)  # ClapFeatureExtractor draws from the global numpy RNG
    torch.manual_seed(SEED)

    print(f"Synthesising {args.clips_per_class} clips x {len(CAPTIONS)} classes ...", flush=True)
    mels, labels, weights = build_dataset(SEED, args.clips_per_class)
    print(f"  dataset {mels.shape} in {time.time() - t_start:.0f}s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = build_tokenizer(Path(tmp))
    vocab_size = int(math.ceil((len(tokenizer) + 8) / 8) * 8)
    config = build_config(vocab_size)
    torch.manual_seed(SEED)
    model = ClapModel(config)
    print(
        f"Tokenizer {len(tokenizer)} tokens; model {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M params"
    )

    t0 = time.time()
    print("Stage 1: text tower", flush=True)
    train_text(model, tokenizer)
    with torch.no_grad():
        targets = torch.stack(
            [text_embeddings(model, tokenizer, [t.format(c) for c in CAPTIONS]) for t in TEMPLATES]
        )
    print(f"  {time.time() - t0:.0f}s", flush=True)

    t0 = time.time()
    print("Stage 2: audio tower", flush=True)
    train_audio(model, mels, labels, weights, targets, epochs=args.epochs)
    with torch.no_grad():
        model.logit_scale_t.copy_(model.logit_scale_a)
    print(f"  {time.time() - t0:.0f}s", flush=True)

    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    ClapProcessor(feature_extractor=feature_extractor(), tokenizer=tokenizer).save_pretrained(
        args.out
    )
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(
        f"Saved to {args.out} ({size / 1e6:.2f} MB); training took {time.time() - t_start:.0f}s",
        flush=True,
    )

    ok = evaluate(args.out)
    print(f"\nTotal {time.time() - t_start:.0f}s. Acceptance: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
