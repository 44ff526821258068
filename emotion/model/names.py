"""What a model is called and asked for, without importing torch (the CLI's help reads it)."""

from __future__ import annotations

import os

DEFAULT_MODEL = "laion/clap-htsat-fused"
KNOWN_MODELS = (
    "laion/clap-htsat-fused",
    "laion/clap-htsat-unfused",
    "laion/larger_clap_general",
    "laion/larger_clap_music_and_speech",
)
# Published zero-shot accuracy in one harness (MTEB's audio benchmark, MAEB), for choosing.
PUBLISHED_ZERO_SHOT = {
    "laion/clap-htsat-fused": "ESC-50 74.0 %, UrbanSound8K 60.2 % (MAEB)",
    "laion/larger_clap_general": "ESC-50 90.5 %, UrbanSound8K 79.6 % (MAEB)",
}
MODEL_ENV = "HYPELINE_MODEL"
PRECISION_ENV = "HYPELINE_PRECISION"  # what "auto" means for load_clap, when set
FLOAT_PRECISIONS = ("fp32", "bf16", "fp16")
INT8 = "int8"  # the CPU path: int8 linear layers in the audio tower, fp32 elsewhere
PRECISION_NAMES = ("auto", *FLOAT_PRECISIONS, INT8)


def resolve_model_name(model: str | None = None) -> str:
    """The model to use: the argument, else ``$HYPELINE_MODEL``, else the default."""
    return model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
