"""The Python API: zero-shot accuracy of the fixture model, files, folders, match."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion.scoring.prompts import prompts_for, zero_shot_probabilities
from tests.conftest import CLASSES
from tests.media import write_media
from tests.synth import make_clip

SR = 48_000


def test_zero_shot_accuracy_on_held_out_clips_is_at_least_90_percent(clap) -> None:
    rng = np.random.default_rng(2024)  # not a training seed
    truth, clips = [], []
    for _ in range(6):
        for i, caption in enumerate(CLASSES):
            clips.append(make_clip(caption, float(rng.uniform(2, 10)), SR, rng))
            truth.append(i)
    probs = zero_shot_probabilities(
        clap.embed_audio(clips), clap.embed_text(prompts_for(CLASSES)), clap.logit_scale
    )
    accuracy = float((probs.argmax(1) == np.array(truth)).mean())
    assert accuracy >= 0.9, f"accuracy {accuracy:.2f}"


def test_classify_a_file_picks_the_right_label(classifier, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    path = write_media(tmp_path / "whistle.mp3", make_clip("a whistle", 6.0, SR, rng), SR)
    result = classifier.classify(path, " clicking, a whistle ,a low hum")
    assert list(result.scores) == ["clicking", "a whistle", "a low hum"]
    assert result.top_label == "a whistle"
    assert result.scores["a whistle"] > 0.8
    assert abs(sum(result.scores.values()) - 1) < 1e-6


def test_classify_files_batches_a_folder(classifier, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    expected = {}
    for caption in ("a siren", "clicking", "hissing", "a low hum", "rumbling"):
        name = caption.replace(" ", "_") + ".wav"
        write_media(tmp_path / name, make_clip(caption, 5.0, SR, rng), SR)
        expected[name] = caption
    results = dict(classifier.classify_files(sorted(tmp_path.glob("*.wav")), CLASSES, batch_size=2))
    assert {p.name: r.top_label for p, r in results.items()} == expected


def test_match_is_cosine_of_clip_and_verbatim_text(classifier) -> None:
    clip = make_clip("hissing", 8.0, SR, np.random.default_rng(9))
    right = classifier.match(clip, "hissing")
    wrong = classifier.match(clip, "a low hum")
    assert -1 <= wrong < right <= 1
    expected = classifier.clap.embed_audio([clip])[0] @ classifier.clap.embed_text(["hissing"])[0]
    assert right == float(expected)
