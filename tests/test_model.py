"""Loading checkpoints; embeddings that match transformers and do not depend on the batch."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ClapModel, ClapProcessor

from emotion.errors import ModelLoadError, ModelNotFoundError
from emotion.model.clap import load_clap
from emotion.scoring.prompts import prompts_for, zero_shot_probabilities
from tests.conftest import CLASSES, TINY_CLAP
from tests.synth import make_clip

SR = 48_000


def synthetic_clips(seed: int, n_per_class: int = 1, duration_s: float = 10.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [make_clip(c, duration_s, SR, rng) for _ in range(n_per_class) for c in CLASSES]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_probabilities_match_transformers_clap_model(clap) -> None:
    clips = synthetic_clips(seed=11, duration_s=7.0)  # padded clips, the common case
    prompts = prompts_for(CLASSES)
    model = ClapModel.from_pretrained(TINY_CLAP).eval()
    processor = ClapProcessor.from_pretrained(TINY_CLAP)
    inputs = processor(
        text=prompts, audio=clips, sampling_rate=SR, return_tensors="pt", padding=True
    )
    inputs["is_longer"] = torch.zeros_like(inputs["is_longer"])  # transformers' random pick off
    with torch.no_grad():
        ref = model(**inputs).logits_per_audio.softmax(-1).numpy()
    ours = zero_shot_probabilities(
        clap.embed_audio(clips), clap.embed_text(prompts), clap.logit_scale
    )
    assert np.abs(ours - ref).max() <= 1e-3
    assert (ours.argmax(1) == np.arange(len(CLASSES))).all()  # and it learned


def test_embedding_does_not_depend_on_batch_size_or_neighbours(clap) -> None:
    clips = synthetic_clips(seed=12, n_per_class=2)
    target = clips[3]
    alone = clap.embed_audio([target])[0]
    for batch in ([target, *clips[:5]], [*clips[7:14], target], clips[:8]):
        index = next(i for i, c in enumerate(batch) if c is target)
        together = clap.embed_audio(batch)[index]
        assert cosine(alone, together) >= 0.9999
    all_at_once = clap.embed_audio(clips)
    one_by_one = np.stack([clap.embed_audio([c])[0] for c in clips])
    assert cosine(all_at_once, one_by_one).min() >= 0.9999


def test_long_clips_are_deterministic_and_fused(clap) -> None:
    rng = np.random.default_rng(13)
    long_clip = np.concatenate(
        [make_clip("a whistle", 12.0, SR, rng), make_clip("a whistle", 13.0, SR, rng)]
    )
    batch = clap.mel([long_clip])
    assert batch.is_longer.tolist() == [[True]]
    first = clap.embed_audio([long_clip, synthetic_clips(seed=1)[0]])[0]
    second = clap.embed_audio([long_clip])[0]
    assert cosine(first, second) >= 0.9999
    # The fused path differs from the first crop alone (no label check here: the tiny
    # checkpoint trains with is_longer=False, so its fusion layers are untrained).
    crop = clap.embed_audio([long_clip[: 10 * SR]])[0]
    assert cosine(second, crop) < 0.9999


def test_text_embeddings_are_cached_and_unit_length(clap) -> None:
    first = clap.embed_text(["This is a sound of a siren."])
    assert "This is a sound of a siren." in clap._text_cache
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    both = clap.embed_text(["This is a sound of a siren.", "clicking"])
    assert np.array_equal(both[0], first[0])


def test_bf16_autocast_stays_within_cosine_0_999_of_fp32() -> None:
    # What CUDA runs; bf16 autocast also works on CPU, so the claim is checked here too.
    clips = synthetic_clips(seed=14)
    fp32 = load_clap(str(TINY_CLAP), device="cpu", precision="fp32").embed_audio(clips)
    bf16 = load_clap(str(TINY_CLAP), device="cpu", precision="bf16").embed_audio(clips)
    assert cosine(fp32, bf16).min() >= 0.999


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_precision_within_cosine_0_999_of_cpu_fp32() -> None:
    clips = synthetic_clips(seed=15)
    cpu = load_clap(str(TINY_CLAP), device="cpu", precision="fp32").embed_audio(clips)
    gpu = load_clap(str(TINY_CLAP), device="cuda")
    assert gpu.dtype in (torch.bfloat16, torch.float16)
    assert cosine(cpu, gpu.embed_audio(clips)).min() >= 0.999


def test_missing_weights_offline_is_one_clear_sentence(monkeypatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ModelNotFoundError) as error:
        load_clap("laion/clap-htsat-fused", device="cpu")
    assert time.monotonic() - start < 10  # no minute of retries
    message = str(error.value)
    assert "laion/clap-htsat-fused" in message and str(tmp_path / "hub") in message
    assert "hf download laion/clap-htsat-fused" in message
    assert message.endswith("or give the path of a folder that holds them.")
    assert "--model" not in message  # each face names its own way to give one
    assert "\n" not in message


def test_missing_folder_and_non_checkpoint_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="Model folder not found"):
        load_clap(str(tmp_path / "nope"), device="cpu")
    with pytest.raises(ModelLoadError, match="could not be loaded as a CLAP checkpoint"):
        load_clap(str(tmp_path), device="cpu")


def test_model_env_variable_picks_the_checkpoint(monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    clap = load_clap(device="cpu")
    assert clap.name == str(TINY_CLAP)
    assert clap.sampling_rate == 48_000 and clap.max_length_s == 10.0
