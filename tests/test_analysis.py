"""The engine end to end on synthetic VODs with known events, with the fixture model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.errors import LabelError
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.prompts import check_prompts
from tests.media import write_media
from tests.synth import make_vod

pytestmark = pytest.mark.decoder  # every test here reads media through ffmpeg

SR = 48_000
DURATION_S = 150.0
EVENTS = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0), ("a siren", 110.0, 128.0)]
LABELS = ["a whistle", "clicking", "a siren"]
BACKGROUND = ["silence"]


@pytest.fixture(scope="module")
def vod_audio() -> np.ndarray:
    return make_vod(EVENTS, DURATION_S, SR, np.random.default_rng(77))


def assert_events_found(highlights, hop_s: float = 5.0) -> None:
    found = sorted((h.label, h.start_s, h.end_s) for h in highlights)
    assert [f[0] for f in found] == sorted(e[0] for e in EVENTS), found
    for label, start_s, end_s in EVENTS:
        (h,) = [h for h in highlights if h.label == label]
        assert abs(h.start_s - start_s) <= hop_s and abs(h.end_s - end_s) <= hop_s, (
            h,
            start_s,
            end_s,
        )
        assert start_s <= h.peak_s <= end_s and h.score > 0.5


@pytest.mark.parametrize(
    ("name", "rate", "channels", "args", "video"),
    [
        ("vod.mp4", 44_100, 2, ("-c:a", "aac", "-b:a", "128k"), True),
        ("vod.mkv", 48_000, 1, ("-c:a", "libopus", "-b:a", "64k"), True),
        ("vod.mp3", 44_100, 1, ("-c:a", "libmp3lame", "-b:a", "128k"), False),
    ],
)
def test_events_are_found_in_lossy_vods(
    clap, tmp_path: Path, vod_audio, name, rate, channels, args, video
) -> None:
    import librosa

    audio = librosa.resample(vod_audio, orig_sr=SR, target_sr=rate) if rate != SR else vod_audio
    if channels == 2:
        audio = np.stack([audio, audio], axis=1)
    path = write_media(
        tmp_path / name, audio, rate, channels=channels, audio_args=args, video=video
    )
    source = open_source(str(path))
    store = Store(tmp_path / "home")
    record = embed_source(clap, store, source, source_identity(source))
    assert record.complete and record.n_done == 29  # starts 0, 5, …, 140 (the last reaches 150)
    assert record.duration_s == pytest.approx(DURATION_S, abs=0.1)
    analysis = score(record, store.vectors(record), clap, LABELS, BACKGROUND)
    assert analysis.window_starts_s.tolist() == [5.0 * i for i in range(29)]
    np.testing.assert_allclose(analysis.scores.sum(axis=1), 1.0, atol=1e-9)
    assert_events_found(analysis.highlights)


def test_rescoring_uses_stored_embeddings_only(
    clap, tmp_path: Path, vod_audio, monkeypatch
) -> None:
    path = write_media(tmp_path / "vod.wav", vod_audio, SR)
    source = open_source(str(path))
    store = Store(tmp_path / "home")
    first = embed_source(clap, store, source, source_identity(source))

    def no_embedding(*_args, **_kwargs):
        raise AssertionError("the audio was embedded again")

    monkeypatch.setattr(clap, "embed_audio", no_embedding)
    again = embed_source(clap, store, source, source_identity(source))
    assert again.id == first.id
    stricter = score(
        again,
        store.vectors(again),
        clap,
        ["a whistle"],
        BACKGROUND,
        settings=HighlightSettings(threshold=0.9),
    )
    assert [h.label for h in stricter.highlights] == ["a whistle"]
    verbatim = score(again, store.vectors(again), clap, LABELS, BACKGROUND, template="{}")
    assert_events_found(verbatim.highlights)


def test_resume_after_an_interrupted_run_gives_identical_vectors(
    clap, tmp_path: Path, vod_audio
) -> None:
    path = write_media(tmp_path / "vod.flac", vod_audio, SR)
    source = open_source(str(path))
    reference_store = Store(tmp_path / "ref")
    reference = reference_store.vectors(
        embed_source(clap, reference_store, source, "ref", batch_size=4)
    )

    store = Store(tmp_path / "home")
    calls = 0

    def stop_after_two_batches(progress) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) mid-run

    with pytest.raises(KeyboardInterrupt):
        embed_source(clap, store, source, "vod", batch_size=4, progress=stop_after_two_batches)
    partial = store.analyses()[0]
    assert partial.status == "running" and partial.n_done == 8
    # a half-written batch after the last counted one is cut away on resume
    with open(store.vectors_dir / f"{partial.id}.f32", "ab") as f:
        f.write(b"\0" * 100)
    resumed = embed_source(clap, store, source, "vod", batch_size=4)
    assert resumed.complete and resumed.n_done == reference.shape[0]
    np.testing.assert_array_equal(store.vectors(resumed), reference)


def test_labels_and_background_must_not_overlap() -> None:
    with pytest.raises(LabelError, match="both a label and a background label"):
        check_prompts("silence, a whistle", "Silence")
    assert check_prompts("a, b", "") == (["a", "b"], [])
