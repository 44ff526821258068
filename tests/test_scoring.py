from __future__ import annotations

import numpy as np
import pytest

from emotion.errors import LabelError
from emotion.scoring.prompts import parse_labels, prompts_for, zero_shot_probabilities


def test_labels_are_trimmed_and_keep_their_order() -> None:
    assert parse_labels("  piano, guitar ,violin ") == ["piano", "guitar", "violin"]
    assert parse_labels(["b", " a"]) == ["b", "a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "No labels given"),
        ("  ,  ", "No labels given"),
        ("piano,,guitar", "blank"),
        ("piano, guitar,", "blank"),
        ("piano, Piano", "given twice"),
    ],
)
def test_bad_labels_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(LabelError, match=message):
        parse_labels(text)


def test_templates() -> None:
    assert prompts_for(["a dog"]) == ["This is a sound of a dog."]
    assert prompts_for(["a {weird} label"], "{}") == ["a {weird} label"]
    with pytest.raises(LabelError, match="must contain"):
        prompts_for(["x"], "no placeholder")


def test_probabilities_are_softmax_of_scaled_cosine() -> None:
    audio = np.array([[1.0, 0.0], [0.6, 0.8]])
    text = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    probs = zero_shot_probabilities(audio, text, logit_scale=10.0)
    logits = 10.0 * audio @ text.T
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_a_window_with_no_audio_scores_nothing() -> None:
    # A live stream's gap is stored as a zero vector: with one label and one background
    # prompt a uniform softmax would be 0.5 and cross a 0.5 threshold.
    text = np.eye(2, 4)
    audio = np.array([[1.0, 0, 0, 0], [0, 0, 0, 0]])
    probs = zero_shot_probabilities(audio, text, 10.0)
    assert probs[0].sum() == pytest.approx(1.0) and probs[0, 0] > 0.99
    assert probs[1].tolist() == [0.0, 0.0]
