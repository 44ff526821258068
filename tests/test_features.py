"""Our batched torch log-mel against transformers' ClapFeatureExtractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import ClapFeatureExtractor

from emotion.model.features import LogMel

SR = 48_000


def extractor(**overrides: object) -> ClapFeatureExtractor:
    # laion/clap-htsat-fused's preprocessor_config.json, with overrides
    config: dict[str, object] = dict(
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
    return ClapFeatureExtractor(**(config | overrides))


def clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(10 * SR) / SR
    return [
        (0.3 * np.sin(2 * np.pi * 2000 * t)).astype(np.float32),  # pure tone: quiet bands
        (0.01 * rng.standard_normal(10 * SR)).astype(np.float32),  # quiet noise
        np.concatenate([np.zeros(3 * SR), 0.5 * np.sin(2 * np.pi * 100 * t[: 7 * SR])]).astype(
            np.float32
        ),
        (0.2 * rng.standard_normal(4 * SR)).astype(np.float32),  # short: padded
        (0.2 * rng.standard_normal(SR // 3)).astype(np.float32),  # very short: many repeats
    ]


@pytest.mark.parametrize(
    ("truncation", "padding"),
    [("fusion", "repeatpad"), ("rand_trunc", "repeatpad"), ("fusion", "repeat"), ("fusion", "pad")],
)
def test_log_mel_matches_transformers_within_1e_3_db(truncation: str, padding: str) -> None:
    fe = extractor(truncation=truncation, padding=padding)
    ref = fe(clips(), sampling_rate=SR, return_tensors="np")["input_features"]
    ours = LogMel(fe)(clips()).features.numpy()
    assert ours.shape[1:] == (1, 1001, 64)
    # fusion: transformers stacks 4 copies for short clips; the model reads channel 0 only
    assert np.abs(ours[:, 0] - ref[:, 0]).max() <= 1e-3


def test_short_batches_send_one_channel_and_no_clip_is_longer() -> None:
    batch = LogMel(extractor())(clips())
    assert batch.features.shape[1] == 1
    assert not batch.is_longer.any()


def test_long_clip_fusion_is_deterministic_and_matches_transformers_at_middle_crops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fe = extractor()
    long_clip = (0.2 * np.random.default_rng(1).standard_normal(25 * SR)).astype(np.float32)
    short_clip = clips()[0]
    # transformers draws each crop at random; we take the middle of each third
    monkeypatch.setattr(np.random, "choice", lambda r: r[len(r) // 2])
    ref = fe([long_clip], sampling_rate=SR, return_tensors="np")
    batch = LogMel(fe)([short_clip, long_clip])
    assert batch.features.shape == (2, 4, 1001, 64)
    assert batch.is_longer[:, 0].tolist() == [False, True]
    assert batch.owner.tolist() == [0, 1]
    assert np.abs(batch.features[1].numpy() - ref["input_features"][0]).max() <= 1e-3
    # the short clip is repeated on all 4 channels, as transformers does
    assert torch.equal(batch.features[0, 0], batch.features[0, 3])
    again = LogMel(fe)([long_clip])
    assert torch.equal(again.features[0], batch.features[1])


def test_long_clip_without_fusion_is_cut_into_max_length_pieces() -> None:
    fe = extractor(truncation="rand_trunc")
    long_clip = (0.2 * np.random.default_rng(2).standard_normal(25 * SR)).astype(np.float32)
    batch = LogMel(fe)([clips()[0], long_clip])
    assert batch.owner.tolist() == [0, 1, 1, 1]  # 10 s + 10 s + 5 s padded
    assert batch.n_clips == 2
    piece = fe([long_clip[10 * SR : 20 * SR]], sampling_rate=SR, return_tensors="np")
    assert np.abs(batch.features[2, 0].numpy() - piece["input_features"][0, 0]).max() <= 1e-3
