"""Prompts and zero-shot scores: labels → templated prompts → softmax over the labels."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emotion.errors import LabelError

if TYPE_CHECKING:  # the model module imports torch; checking text needs only its tokenizer
    from emotion.model.clap import Clap

DEFAULT_TEMPLATE = "This is a sound of {}."  # the transformers zero-shot pipeline's
# Scored with the labels so that ordinary stream audio has somewhere to go, never highlighted.
DEFAULT_BACKGROUND = ("calm talking", "background music", "silence", "keyboard and mouse clicks")
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


@dataclass(frozen=True)
class Prompts:
    """What to listen for: labels (highlighted), background (scored, never highlighted) and
    the template each is read through. Made by ``Prompts.parse``, the one check of what a
    user typed; ``fit`` adds the one check against a model's text tower."""

    labels: tuple[str, ...]
    background: tuple[str, ...] = DEFAULT_BACKGROUND
    template: str = DEFAULT_TEMPLATE

    @classmethod
    def parse(
        cls,
        labels: Sequence[str] | str,
        background: Sequence[str] | str = DEFAULT_BACKGROUND,
        template: str = DEFAULT_TEMPLATE,
    ) -> Prompts:
        """Validated prompts: labels, background (may be empty), at most ``MAX_PROMPTS`` in
        all, none in both lists, a template with one ``{}``."""
        label_list, background_list = check_prompts(labels, background)
        return cls(tuple(label_list), tuple(background_list), check_template(template))

    @property
    def all(self) -> list[str]:
        """Labels, then background: the columns of every score matrix."""
        return [*self.labels, *self.background]

    @property
    def texts(self) -> list[str]:
        """What the model reads, one text per prompt of ``all``."""
        return prompts_for(self.all, self.template)

    def fit(self, clap: Clap) -> Prompts:
        """These prompts, once each is known to fit ``clap``'s text tower (else a LabelError)."""
        clap.check_prompts(self.texts, self.all)
        return self

    def with_labels(self, labels: Sequence[str] | str) -> Prompts:
        """Other labels over the same background (less any label now among them) and template."""
        label_list = parse_labels(labels)
        chosen = {label.casefold() for label in label_list}
        background = [b for b in self.background if b.casefold() not in chosen]
        return Prompts.parse(label_list, background, self.template)


def check_prompts(
    labels: Sequence[str] | str, background: Sequence[str] | str
) -> tuple[list[str], list[str]]:
    """Validated labels and background; a prompt may not be in both lists."""
    label_list = parse_labels(labels)
    background_list = parse_labels(background, "background labels") if background else []
    if len(label_list) + len(background_list) > MAX_PROMPTS:
        raise LabelError(too_many(len(label_list) + len(background_list), "prompts"))
    both = {b.casefold() for b in background_list} & {label.casefold() for label in label_list}
    if both:
        raise LabelError(
            f"{sorted(both)[0]!r} is both a label and a background label; keep it in one list."
        )
    return label_list, background_list


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
    probs = softmax(logits)
    probs[~audio_embeddings.any(axis=1)] = 0.0
    return probs


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[n, k]`` logits."""
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return probs
