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

from emotion.media.audio import load_audio
from emotion.model.clap import Clap, load_clap
from emotion.scoring.prompts import (
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

    @classmethod
    def of(cls, probabilities: np.ndarray, labels: Sequence[str]) -> Classification:
        """The classification of one row of ``zero_shot_probabilities`` over ``labels``."""
        return cls(
            top_label=labels[int(probabilities.argmax())],
            scores={label: float(p) for label, p in zip(labels, probabilities, strict=True)},
        )

    @property
    def top_score(self) -> float:
        return self.scores[self.top_label]

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
        return self.classify_embedding(self.embed(audio), label_list)

    def embed(self, audio: Audio) -> np.ndarray:
        """The clip's unit vector (a file, or mono float32 at the model's rate)."""
        return self.clap.embed_audio([self.waveform(audio)])[0]

    def classify_embedding(
        self, embedding: np.ndarray, labels: str | Iterable[str]
    ) -> Classification:
        """``classify`` for a clip already embedded (``embed``): the same numbers."""
        label_list = self._check(labels)
        return next(self._scores(embedding[None], label_list))

    def cosines(self, embedding: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of an embedded clip with each text, read verbatim."""
        self.clap.check_prompts(list(texts))
        return (self.clap.embed_text(list(texts)) @ embedding).astype(np.float64)

    def classify_files(
        self, paths: Iterable[Path | str], labels: str | Iterable[str], batch_size: int = 8
    ) -> Iterator[tuple[Path, Classification]]:
        """Classify many files, ``batch_size`` clips per forward pass."""
        label_list = self._check(labels)
        queue = (Path(p) for p in paths)
        while group := list(islice(queue, batch_size)):
            embeddings = self.clap.embed_audio([self.waveform(p) for p in group])
            yield from zip(group, self._scores(embeddings, label_list), strict=True)

    def match(self, audio: Audio, text: str) -> float:
        """Cosine similarity of one clip and a text, used verbatim (no template)."""
        (text,) = parse_labels([text], what="texts")
        self.clap.check_prompts([text])
        return self.match_embedding(self.embed(audio), text)

    def match_embedding(self, embedding: np.ndarray, text: str) -> float:
        """``match`` for a clip already embedded (``embed``): the same number."""
        (text,) = parse_labels([text], what="texts")
        return float(self.cosines(embedding, [text])[0])

    def model_input(self, waveform: np.ndarray) -> np.ndarray:
        """The log-mel the audio tower reads first for this clip: ``[frames, mel bins]`` in dB.

        A clip up to the model's length is padded the checkpoint's way; a longer one is, for
        a fusion checkpoint, the whole clip shrunk to that length (beside three crops), else
        its first piece (the embedding averages every piece).
        """
        return self.clap.mel([waveform]).features[0, 0].float().cpu().numpy()

    @property
    def mel_hop_s(self) -> float:
        """Seconds between two frames of ``model_input``."""
        return self.clap.mel.hop_length / self.clap.sampling_rate

    def _check(self, labels: str | Iterable[str]) -> list[str]:
        """Parsed labels whose prompts fit the model, checked before any audio is read."""
        label_list = parse_labels(labels)
        self.clap.check_prompts(prompts_for(label_list, self.template), label_list)
        return label_list

    def _scores(self, embeddings: np.ndarray, labels: list[str]) -> Iterator[Classification]:
        text = self.clap.embed_text(prompts_for(labels, self.template))
        probs = zero_shot_probabilities(embeddings, text, self.clap.logit_scale)
        for row in probs:
            yield Classification.of(row, labels)

    def waveform(self, audio: Audio) -> np.ndarray:
        """Mono float32 at the model's rate: a file decoded, or an array cleaned."""
        if isinstance(audio, np.ndarray):  # NaN/Inf are silence, as in decoded files
            return np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return load_audio(Path(audio), self.clap.sampling_rate)
