"""Prompts and zero-shot scores: labels → templated prompts → softmax over the labels."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import numpy as np

from emotion.errors import LabelError

DEFAULT_TEMPLATE = "This is a sound of {}."  # the transformers zero-shot pipeline's
# Every prompt is scored against every window; past a couple of hundred the softmax spreads
# so thin that nothing crosses a threshold, and a list that long is a pasted mistake.
MAX_PROMPTS = 200


def parse_labels(labels: str | Iterable[str], what: str = "labels") -> list[str]:
    """Comma-separated text or a list → labels with their spacing tidied.

    Empty, blank or repeated labels (equal but for case or spacing), control characters
    and more than ``MAX_PROMPTS`` labels are errors.
    """
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    cleaned = [" ".join(item.split()) for item in items]  # trims, and "a  b" → "a b"
    if not any(cleaned):
        raise LabelError(f'No {what} given; pass them comma-separated, e.g. "piano, guitar".')
    if "" in cleaned:
        raise LabelError(
            f"One of the {what} is blank (two commas in a row, or a trailing comma); "
            "remove it or give it a name."
        )
    if len(cleaned) > MAX_PROMPTS:
        raise LabelError(too_many(len(cleaned), what))
    seen: dict[str, str] = {}
    for label in cleaned:
        check_printable(label, "label")
        if (key := label.casefold()) in seen:
            first = seen[key]
            twice = repr(label) if first == label else f"{first!r} (as {label!r})"
            raise LabelError(f"The label {twice} is given twice; keep it once.")
        seen[key] = label
    return cleaned


def too_many(n: int, what: str = "labels") -> str:
    return (
        f"There are {n} {what}, and at most {MAX_PROMPTS} can be scored sensibly; "
        "keep the moments you want to find."
    )


def check_printable(text: str, what: str) -> str:
    """Refuse control characters (a pasted escape code, a NUL), which no model was taught."""
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            raise LabelError(
                f"The {what} {text!r} contains a control character ({ch!r}); "
                "remove it and type the text again."
            )
    return text


def check_template(template: str) -> str:
    """A template must say where the label goes, with exactly one ``{}``."""
    check_printable(template, "template")
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
    """``[n_audio, n_labels]`` softmax of ``logit_scale · cos``, as ClapModel's logits_per_audio.

    A zero embedding stands for a window with no audio (a live stream's gap): its row is
    all zeros, so nothing is ever found there.
    """
    logits = logit_scale * (
        audio_embeddings.astype(np.float64) @ text_embeddings.astype(np.float64).T
    )
    return softmax_heard(logits, audio_embeddings)


def softmax_heard(logits: np.ndarray, audio_embeddings: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``logits``; rows of windows with no audio (zero vectors) are 0."""
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[~audio_embeddings.any(axis=1)] = 0.0
    return probs
