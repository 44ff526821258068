"""Single-clip tools: classify a clip against labels, or match it with a text.

Load the model once and call it for many files::

    from emotion import Classifier

    clf = Classifier.load()  # laion/clap-htsat-fused, or $HYPELINE_MODEL
    clips = sorted(Path("clips").glob("*.wav"))
    for path, result in clf.classify_files(clips, ["piano", "guitar", "violin"]):
        print(path.name, result.top_label, result.scores)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from emotion.audio import load_audio
from emotion.model import Clap, load_clap
from emotion.scoring import (
    DEFAULT_TEMPLATE,
    check_template,
    parse_labels,
    prompts_for,
    zero_shot_probabilities,
)

Audio = Path | str | np.ndarray


@dataclass(frozen=True)
class Classification:
    """Zero-shot probabilities of one clip, keys in the order the labels were given."""

    top_label: str
    scores: dict[str, float]

    def to_dict(self, decimals: int = 4) -> dict[str, object]:
        return {
            "top_label": self.top_label,
            "scores": {k: round(v, decimals) for k, v in self.scores.items()},
        }


class Classifier:
    """A CLAP model loaded once, to classify and match many clips."""

    def __init__(self, clap: Clap, template: str = DEFAULT_TEMPLATE):
        self.clap = clap
        self.template = check_template(template)

    @classmethod
    def load(
        cls,
        model: str | None = None,
        device: str = "auto",
        precision: str = "auto",
        template: str = DEFAULT_TEMPLATE,
    ) -> Classifier:
        return cls(load_clap(model, device=device, precision=precision), template)

    def classify(self, audio: Audio, labels: str | Iterable[str]) -> Classification:
        """Probabilities of ``labels`` (comma-separated text or a list) for one clip."""
        label_list = self._check(labels)
        return next(self._classify([self._waveform(audio)], label_list))

    def classify_files(
        self, paths: Iterable[Path | str], labels: str | Iterable[str], batch_size: int = 8
    ) -> Iterator[tuple[Path, Classification]]:
        """Classify many files, ``batch_size`` clips per forward pass."""
        label_list = self._check(labels)
        queue = (Path(p) for p in paths)
        while group := list(islice(queue, batch_size)):
            waveforms = [self._waveform(p) for p in group]
            yield from zip(group, self._classify(waveforms, label_list), strict=True)

    def match(self, audio: Audio, text: str) -> float:
        """Cosine similarity of one clip and a text, used verbatim (no template)."""
        (text,) = parse_labels([text], what="texts")
        self.clap.check_prompts([text])
        audio_embedding = self.clap.embed_audio([self._waveform(audio)])[0]
        return float(audio_embedding @ self.clap.embed_text([text])[0])

    def _check(self, labels: str | Iterable[str]) -> list[str]:
        """Parsed labels whose prompts fit the model, checked before any audio is read."""
        label_list = parse_labels(labels)
        self.clap.check_prompts(prompts_for(label_list, self.template), label_list)
        return label_list

    def _classify(
        self, waveforms: Sequence[np.ndarray], labels: list[str]
    ) -> Iterator[Classification]:
        text = self.clap.embed_text(prompts_for(labels, self.template))
        probs = zero_shot_probabilities(
            self.clap.embed_audio(waveforms), text, self.clap.logit_scale
        )
        for row in probs:
            yield Classification(
                top_label=labels[int(row.argmax())],
                scores={label: float(p) for label, p in zip(labels, row, strict=True)},
            )

    def _waveform(self, audio: Audio) -> np.ndarray:
        if isinstance(audio, np.ndarray):  # NaN/Inf are silence, as in decoded files
            return np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return load_audio(Path(audio), self.clap.sampling_rate)
