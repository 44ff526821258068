"""Prompts and zero-shot scores: labels → templated prompts → softmax over the labels."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from emotion.errors import LabelError

DEFAULT_TEMPLATE = "This is a sound of {}."  # the transformers zero-shot pipeline's


def parse_labels(labels: str | Iterable[str], what: str = "labels") -> list[str]:
    """Comma-separated text or a list → trimmed labels; empty, blank or repeated ones are errors."""
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    cleaned = [item.strip() for item in items]
    if not any(cleaned):
        raise LabelError(f'No {what} given; pass them comma-separated, e.g. "piano, guitar".')
    if "" in cleaned:
        raise LabelError(
            f"One of the {what} is blank (two commas in a row, or a trailing comma); "
            "remove it or give it a name."
        )
    seen: set[str] = set()
    for label in cleaned:
        if label.casefold() in seen:
            raise LabelError(f"The label {label!r} is given twice; keep it once.")
        seen.add(label.casefold())
    return cleaned


def check_template(template: str) -> str:
    """A template must say where the label goes, with exactly one ``{}``."""
    if template.count("{}") != 1:
        raise LabelError(
            f"The template {template!r} must contain {{}} exactly once, where the label goes "
            f'(e.g. {DEFAULT_TEMPLATE!r}, or "{{}}" for the labels as they are).'
        )
    return template


def prompts_for(labels: Iterable[str], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """The text the model reads for each label."""
    check_template(template)
    return [template.replace("{}", label) for label in labels]


def zero_shot_probabilities(
    audio_embeddings: np.ndarray, text_embeddings: np.ndarray, logit_scale: float
) -> np.ndarray:
    """``[n_audio, n_labels]`` softmax of ``logit_scale · cos``, as ClapModel's logits_per_audio."""
    logits = logit_scale * (
        audio_embeddings.astype(np.float64) @ text_embeddings.astype(np.float64).T
    )
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)
