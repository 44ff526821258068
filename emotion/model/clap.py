"""Load a CLAP checkpoint and turn audio and text into embeddings, batched and deterministic.

One function owns where weights come from (``load_clap``): a local folder in Hugging
Face format, or a hub id served from the local cache, downloaded only when the hub is
reachable. Audio goes through our batched torch log-mel (``emotion.model.features``) on the
model's device; on CUDA the matmuls run under bf16 autocast (fp16 where bf16 is missing),
on Apple GPUs (MPS) under fp16 autocast, and on an x86 CPU the audio tower runs the int8
path (``emotion.model.int8``) unless fp32 is asked for.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from huggingface_hub import constants, snapshot_download
from transformers import ClapModel, ClapProcessor
from transformers.utils import logging as hf_logging

from emotion.errors import DeviceError, LabelError, ModelLoadError, ModelNotFoundError
from emotion.model.features import LogMel
from emotion.model.int8 import int8_supported, quantize_audio_tower
from emotion.model.names import (
    FLOAT_PRECISIONS,
    INT8,
    PRECISION_ENV,
    PRECISION_NAMES,
    resolve_model_name,
)

HUB_CONNECT_TIMEOUT_S = 3.0
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
assert tuple(PRECISIONS) == FLOAT_PRECISIONS


def resolve_device(
    device: str = "auto", *, has_cuda: bool | None = None, has_mps: bool | None = None
) -> torch.device:
    """``auto`` → CUDA, else Apple's GPU (MPS), else CPU; asking for a missing one is an error.

    ``has_cuda``/``has_mps`` override what torch reports (for tests).
    """
    cuda = torch.cuda.is_available() if has_cuda is None else has_cuda
    mps = _mps_available() if has_mps is None else has_mps
    if device == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if device.startswith("cuda") and not cuda:
        raise DeviceError("A CUDA GPU was asked for but none is visible; use the CPU instead.")
    if device == "mps" and not mps:
        raise DeviceError(
            "An Apple GPU was asked for but torch cannot use one here (it needs Apple silicon "
            "and macOS 12.3 or later); use the CPU instead."
        )
    try:
        return torch.device(device)
    except RuntimeError as e:
        raise DeviceError(f"Unknown device {device!r}; use auto, cpu, cuda or mps.") from e


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_precision(precision: str, device: torch.device, *, int8_fast: bool | None = None) -> str:
    """The precision's name: ``auto`` → bf16 (fp16 on older CUDA) on CUDA, fp16 on MPS, and
    on a CPU int8 where ``emotion.model.int8`` measured it faster (x86 with AVX2+), else fp32.

    ``int8_fast`` overrides the CPU detection (for tests).
    """
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "mps":
            return "fp16"
        fast = int8_supported() if int8_fast is None else int8_fast
        return INT8 if device.type == "cpu" and fast else "fp32"
    if precision == INT8 and device.type != "cpu":
        raise DeviceError(
            f"int8 runs on the CPU only; on {device.type} use auto, fp32, bf16 or fp16."
        )
    if precision not in PRECISION_NAMES:
        raise DeviceError(f"Unknown precision {precision!r}; use auto, fp32, bf16, fp16 or int8.")
    return precision


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the matmuls run in (int8's non-quantized parts run in fp32)."""
    return PRECISIONS.get(choose_precision(precision, device), torch.float32)


class Clap:
    """A loaded CLAP checkpoint: normalised audio and text embeddings and zero-shot logits."""

    def __init__(
        self,
        name: str,
        model: ClapModel,
        processor: ClapProcessor,
        device: torch.device,
        dtype: torch.dtype,
        *,
        int8: bool = False,
    ):
        """``int8``: quantize the audio tower in place (``emotion.model.int8``; CPU, fp32 dtype)."""
        # Counted before quantizing: int8 layers pack their weights outside parameters(),
        # and the fused attention keeps its position bias as a buffer.
        self._n_parameters = sum(p.numel() for p in model.parameters())
        if int8:
            if device.type != "cpu" or dtype != torch.float32:
                raise DeviceError("int8 runs on the CPU only, with fp32 for the rest.")
            quantize_audio_tower(model)
        self.name = name
        self.model = model.eval()
        self.processor = processor
        self.device = device
        self.dtype = dtype
        self.int8 = int8
        # MPS has no float64; the int8 path is past the 1e-3 dB parity anyway (its bound is
        # the embedding's cosine to fp32), and the float64 STFT would be a fifth of its time.
        mel_dtype = torch.float32 if int8 or device.type == "mps" else torch.float64
        self.mel = LogMel(processor.feature_extractor, device, dtype=mel_dtype)
        self.sampling_rate = self.mel.sampling_rate
        self.max_length_s = self.mel.max_samples / self.sampling_rate
        self.embedding_dim = int(model.config.projection_dim)
        # ClapModel's logits_per_audio = exp(logit_scale_a) * cos(audio, text).
        self.logit_scale = float(model.logit_scale_a.detach().float().exp())
        self.max_text_tokens = _max_text_tokens(model, processor)
        self._text_cache: dict[str, np.ndarray] = {}
        self.load_s = 0.0  # seconds load_clap took (finding, reading and placing the weights)

    @property
    def n_parameters(self) -> int:
        """Weights in the whole checkpoint (both towers and the projections), in any precision."""
        return self._n_parameters

    @property
    def precision(self) -> str:
        """The name stored with every analysis made by this model (part of its key)."""
        if self.int8:
            return INT8
        return {v: k for k, v in PRECISIONS.items()}[self.dtype]

    def _autocast(self) -> torch.autocast:
        # Weights, norms and the log-mel stay fp32; matmuls run in half precision.
        enabled = self.dtype != torch.float32
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=enabled)

    @torch.inference_mode()
    def embed_audio(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """``[n_clips, dim]`` unit vectors for mono clips at ``sampling_rate``, of any length.

        A clip's embedding does not depend on the other clips of the batch.
        """
        if not waveforms:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        batch = self.mel(waveforms)
        with self._autocast():
            out = self.model.get_audio_features(
                input_features=batch.features, is_longer=batch.is_longer
            )
        rows = out.pooler_output.float()
        # Rows back to clip order; a long clip of a non-fusion checkpoint has several rows
        # (its max_length_s pieces) whose sum, normalised, is the mean direction.
        pooled = torch.zeros(batch.n_clips, rows.shape[1], device=rows.device)
        pooled.index_add_(0, batch.owner, rows)
        return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()

    def check_prompts(self, prompts: Sequence[str], labels: Sequence[str] | None = None) -> None:
        """Refuse a prompt longer than the text tower reads (``labels[i]`` names prompt i)."""
        names = labels if labels is not None else prompts
        tokenizer = self.processor.tokenizer
        for prompt, name in zip(prompts, names, strict=True):
            n_tokens = len(tokenizer(prompt, verbose=False)["input_ids"])
            if n_tokens > self.max_text_tokens:
                shown = name if len(name) <= 60 else name[:57] + "…"
                raise LabelError(
                    f"The label {shown!r} is too long for this model ({n_tokens} tokens, the "
                    f"limit is {self.max_text_tokens}); describe the moment in fewer words."
                )

    @torch.inference_mode()
    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """``[n_prompts, dim]`` unit vectors, cached per prompt for the life of this model.

        Each prompt is encoded alone, so padding never changes its embedding.
        """
        for prompt in dict.fromkeys(prompts):
            if prompt not in self._text_cache:
                self.check_prompts([prompt])  # a longer one would index past the positions
                tokens = self.processor.tokenizer([prompt], return_tensors="pt").to(self.device)
                with self._autocast():
                    out = self.model.get_text_features(**tokens)
                self._text_cache[prompt] = out.pooler_output.float()[0].cpu().numpy()
        if not prompts:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        return np.stack([self._text_cache[p] for p in prompts])


def load_clap(model: str | None = None, device: str = "auto", precision: str = "auto") -> Clap:
    """Load ``model`` (hub id or local folder; default ``$HYPELINE_MODEL`` or the fused CLAP).

    ``precision="auto"`` is ``$HYPELINE_PRECISION`` when set (e.g. fp32 for the dashboard,
    which has no precision picker), else the device's best (``choose_precision``).
    """
    started = time.perf_counter()
    name = resolve_model_name(model)
    torch_device = resolve_device(device)
    if precision == "auto":
        precision = os.environ.get(PRECISION_ENV) or "auto"
    chosen = choose_precision(precision, torch_device)
    source = _weights_source(name)
    try:
        with _quiet_transformers():
            clap_model = ClapModel.from_pretrained(source, local_files_only=True)
            processor = ClapProcessor.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(
            f"{name} could not be loaded as a CLAP checkpoint ({_first_line(e)}); it needs "
            "config.json, the weights, preprocessor_config.json and the tokenizer files, "
            "as saved by ClapModel/ClapProcessor.save_pretrained."
        ) from e
    # Module.to moves in place; PreTrainedModel.to's decorator confuses type checkers.
    torch.nn.Module.to(clap_model, torch_device)
    dtype = PRECISIONS.get(chosen, torch.float32)
    clap = Clap(name, clap_model, processor, torch_device, dtype, int8=chosen == INT8)
    clap.load_s = time.perf_counter() - started
    return clap


def _max_text_tokens(model: ClapModel, processor: ClapProcessor) -> int:
    """How many tokens (with <s> and </s>) the text tower can read."""
    text = model.config.text_config
    # RoBERTa's positions start after the padding index, so two fewer than the table holds.
    pad_id = getattr(text, "pad_token_id", None) or 0
    positions = int(getattr(text, "max_position_embeddings", 514)) - int(pad_id) - 1
    declared = int(getattr(processor.tokenizer, "model_max_length", positions) or positions)
    return min(positions, declared) if declared < 1_000_000 else positions  # 1e30 means unset


def _weights_source(name: str) -> str:
    """A local folder holding the checkpoint: the one given, or the hub cache's snapshot."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(name):
        raise ModelNotFoundError(
            f"Model folder not found: {path}; give a folder that holds a CLAP checkpoint, "
            "or a Hugging Face id such as laion/clap-htsat-fused."
        )
    patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
    try:
        return str(snapshot_download(name, allow_patterns=patterns, local_files_only=True))
    except Exception:  # not in the cache (any variant of it): try the hub below
        pass
    cache = constants.HF_HUB_CACHE
    if constants.HF_HUB_OFFLINE or not _hub_reachable(constants.ENDPOINT):
        raise ModelNotFoundError(
            f"The weights of {name} are not in the cache ({cache}) and the Hugging Face hub "
            f"cannot be reached; download them once with `hf download {name}` (older "
            f"huggingface_hub: `huggingface-cli download {name}`) on a machine with internet, "
            "or give the path of a folder that holds them."
        )
    try:
        return str(snapshot_download(name, allow_patterns=patterns))
    except Exception as e:
        raise ModelNotFoundError(
            f"{name} could not be downloaded from the Hugging Face hub ({_first_line(e)}); "
            "check the model id, or give the path of a folder that holds its weights."
        ) from e


def _looks_like_path(name: str) -> bool:
    # Hub ids are "owner/name"; anything else with a separator or a dot prefix is a path.
    windows_sep = os.sep != "/" and os.sep in name
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or windows_sep


def _hub_reachable(endpoint: str) -> bool:
    """One TCP connect with a short timeout, instead of the hub client's minute of retries."""
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=HUB_CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' advisory logging while loading (it is noise on stderr)."""
    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # "Loading weights" bars on stderr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
