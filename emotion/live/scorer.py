"""Pushed audio scored as it comes: window embeddings → probabilities of the prompts.

The one scorer of live audio: the monitor (``emotion.live.monitor``) and the API's PCM
stream (``WS /api/stream``) both score their windows here, on the same numbers as
``analyze`` (``zero_shot_probabilities`` over labels, then background prompts).
"""

from __future__ import annotations

import numpy as np

from emotion.model.batcher import Batcher
from emotion.scoring.prompts import Prompts, zero_shot_probabilities


class WindowScorer:
    """Labels and background prompts, checked against the model and embedded once."""

    def __init__(self, batcher: Batcher, prompts: Prompts) -> None:
        self.labels = list(prompts.labels)
        self.prompts = prompts.fit(batcher.clap).all
        self._texts = prompts.texts
        self._batcher = batcher
        self._text: np.ndarray | None = None

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """``[n, prompts]`` probabilities of ``[n, dim]`` window embeddings (gaps: all 0)."""
        if self._text is None:  # on first use: the text tower runs on the batcher's thread
            self._text = self._batcher.embed_text(self._texts)
        return zero_shot_probabilities(vectors, self._text, self._batcher.clap.logit_scale)

    def top(self, probabilities: np.ndarray) -> tuple[str, float]:
        """The most probable label of one row (background prompts never win) and its score."""
        best = int(probabilities[: len(self.labels)].argmax())
        return self.labels[best], float(probabilities[best])
