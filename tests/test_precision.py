"""The int8 CPU path against fp32: embeddings, top labels and highlights on the test VODs;
precision in the analysis key; which device and precision ``auto`` picks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ClapAudioConfig
from transformers.models.clap import modeling_clap

from emotion.analysis import embed_source, score
from emotion.errors import DeviceError
from emotion.export.jsonfile import to_dict
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from emotion.model.clap import choose_precision, load_clap, resolve_device
from emotion.model.int8 import FusedWindowAttention, int8_supported
from emotion.scoring.prompts import prompts_for
from hypeline_cli.analyze import summary
from tests.conftest import CLASSES, TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from tests.test_analysis import BACKGROUND, DURATION_S, EVENTS, LABELS, SR

HOP_S = 5.0


@pytest.fixture(scope="module")
def int8_clap():
    return load_clap(str(TINY_CLAP), device="cpu", precision="int8")


@pytest.fixture(scope="module")
def vods(tmp_path_factory) -> list[Path]:
    """The end-to-end test VODs of test_analysis (AAC in mp4, Opus in mkv)."""
    import librosa

    audio = make_vod(EVENTS, DURATION_S, SR, np.random.default_rng(77))
    folder = tmp_path_factory.mktemp("vods")
    aac = librosa.resample(audio, orig_sr=SR, target_sr=44_100)
    return [
        write_media(folder / "vod.mp4", aac, 44_100, audio_args=("-c:a", "aac", "-b:a", "128k")),
        write_media(folder / "vod.mkv", audio, SR, audio_args=("-c:a", "libopus", "-b:a", "64k")),
    ]


def test_int8_is_what_the_model_reports(int8_clap, clap) -> None:
    assert (int8_clap.precision, clap.precision) == ("int8", "fp32")
    assert int8_clap.dtype == torch.float32  # the rest of the model stays fp32
    # Only the audio tower is quantized: prompts embed exactly as in fp32.
    prompts = prompts_for(CLASSES)
    np.testing.assert_array_equal(int8_clap.embed_text(prompts), clap.embed_text(prompts))


def test_int8_counts_the_same_parameters_as_fp32(int8_clap, clap) -> None:
    # Quantized layers pack their weights outside parameters(): the count is the checkpoint's.
    assert sum(p.numel() for p in int8_clap.model.parameters()) < clap.n_parameters
    assert int8_clap.n_parameters == clap.n_parameters == 426_067


def test_int8_matches_fp32_on_every_window_and_finds_the_same_highlights(
    int8_clap, clap, vods: list[Path], tmp_path: Path
) -> None:
    store = Store(tmp_path / "home")
    for path in vods:
        source = open_source(str(path))
        identity = source_identity(source)
        fp32 = embed_source(clap, store, source, identity)
        int8 = embed_source(int8_clap, store, source, identity)
        # Two analyses of one source: the precision is part of the key.
        assert (fp32.precision, int8.precision) == ("fp32", "int8") and fp32.id != int8.id
        a, b = store.vectors(fp32), store.vectors(int8)
        assert a.shape == b.shape == (29, clap.embedding_dim)
        cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert cosine.min() >= 0.99, (path.name, cosine.min())

        ref = score(fp32, a, clap, LABELS, BACKGROUND)
        fast = score(int8, b, int8_clap, LABELS, BACKGROUND)
        assert (ref.precision, fast.precision) == ("fp32", "int8")
        assert to_dict(fast)["precision"] == "int8" and to_dict(ref)["precision"] == "fp32"
        assert f"Model {int8_clap.name} (int8)." in summary(fast, tmp_path, []).splitlines()
        agree = (ref.scores.argmax(1) == fast.scores.argmax(1)).mean()
        assert agree >= 0.99, (path.name, agree)
        assert [h.label for h in fast.highlights] == [h.label for h in ref.highlights]
        assert sorted(h.label for h in ref.highlights) == sorted(LABELS)
        for h_ref, h_fast in zip(ref.highlights, fast.highlights, strict=True):
            assert abs(h_ref.start_s - h_fast.start_s) <= HOP_S
            assert abs(h_ref.end_s - h_fast.end_s) <= HOP_S


def test_rescore_reads_only_its_own_precision(int8_clap, clap, vods: list[Path], tmp_path) -> None:
    store = Store(tmp_path / "home")
    source = open_source(str(vods[0]))
    identity = source_identity(source)
    fp32 = embed_source(clap, store, source, identity)
    before = store.vectors(fp32).copy()
    int8 = embed_source(int8_clap, store, source, identity)  # embeds anew, fp32 untouched
    assert int8.n_done == fp32.n_done == 29
    np.testing.assert_array_equal(store.vectors(fp32), before)
    # Opening again with either model resumes its own analysis, never the other's.
    again = embed_source(int8_clap, store, source, identity)
    assert again.id == int8.id and again.precision == "int8"
    assert embed_source(clap, store, source, identity).id == fp32.id
    assert not np.array_equal(store.vectors(int8), before)


def test_fused_window_attention_equals_transformers_with_the_shift_mask() -> None:
    # The tiny checkpoint has one block per stage, so no shifted window: test the mask here.
    torch.manual_seed(3)
    config = ClapAudioConfig(window_size=4)
    eager = modeling_clap.ClapAudioSelfAttention(config, dim=32, num_heads=4, window_size=4)
    with torch.no_grad():
        eager.relative_position_bias_table.normal_()
    layer = modeling_clap.ClapAudioLayer(config, 32, (8, 8), num_heads=4, shift_size=2)
    mask = layer.get_attn_mask(8, 8, dtype=torch.float32, device=torch.device("cpu"))
    assert mask is not None and mask.shape == (4, 16, 16)
    hidden = torch.randn(2 * 4, 16, 32)  # two images of four windows each
    fused = FusedWindowAttention(eager)
    with torch.no_grad():
        for m in (None, mask):
            expected = eager(hidden, m)[0]
            torch.testing.assert_close(fused(hidden, m)[0], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_device_prefers_cuda_then_apple_then_cpu(cuda: bool, mps: bool, expected: str) -> None:
    assert resolve_device("auto", has_cuda=cuda, has_mps=mps).type == expected
    assert resolve_device("cpu", has_cuda=cuda, has_mps=mps).type == "cpu"


def test_asking_for_a_missing_device_is_one_sentence() -> None:
    # The library names no flag (each face adds its own: the CLI says --device cpu).
    with pytest.raises(
        DeviceError, match=r"^An Apple GPU was asked for .*; use the CPU instead\.$"
    ):
        resolve_device("mps", has_cuda=False, has_mps=False)
    with pytest.raises(DeviceError, match="A CUDA GPU was asked for but none is visible"):
        resolve_device("cuda", has_cuda=False, has_mps=True)
    assert resolve_device("mps", has_cuda=False, has_mps=True).type == "mps"


def test_auto_precision_per_device() -> None:
    cpu, mps = torch.device("cpu"), torch.device("mps")
    assert choose_precision("auto", cpu, int8_fast=True) == "int8"
    assert choose_precision("auto", cpu, int8_fast=False) == "fp32"
    assert choose_precision("auto", mps) == "fp16"
    assert choose_precision("fp32", cpu, int8_fast=True) == "fp32"  # always the reference
    assert choose_precision("fp32", mps) == "fp32"
    with pytest.raises(DeviceError, match="int8 runs on the CPU only"):
        choose_precision("int8", mps)
    with pytest.raises(DeviceError, match="Unknown precision 'int4'"):
        choose_precision("int4", cpu)


def test_auto_follows_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_PRECISION", "int8")
    assert load_clap(str(TINY_CLAP), device="cpu").precision == "int8"
    assert load_clap(str(TINY_CLAP), device="cpu", precision="fp32").precision == "fp32"
    monkeypatch.setenv("HYPELINE_PRECISION", "fp64")
    with pytest.raises(DeviceError, match="Unknown precision 'fp64'"):
        load_clap(str(TINY_CLAP), device="cpu")


def test_int8_is_detected_on_x86_with_avx2() -> None:
    capability = torch.backends.cpu.get_cpu_capability()
    expected = (
        capability in ("AVX2", "AVX512") and "x86" in torch.backends.quantized.supported_engines
    )
    assert int8_supported() is expected
