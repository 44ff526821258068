"""Clip Lab (AppTest, fixture checkpoint): a clip's bars, match and model card, and the
same numbers as the CLI's ``classify`` and ``match`` for the same file."""

from __future__ import annotations

import base64
import io
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion.analysis import embed_source
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from tests import test_dashboard as dashboard
from tests.media import write_media
from tests.synth import make_clip, make_vod
from tests.test_cli import run as run_cli
from ui.prompt_rows import Prompt

home = dashboard.home
SR = 48_000
PROMPTS = [
    Prompt("a whistle", "#636EFA"),
    Prompt("clicking", "#EF553B"),
    Prompt("a siren", "#00CC96"),
    Prompt("silence", "#9E9E9E", background=True),
]
LABELS = "a whistle, clicking, a siren, silence"
TEMPLATE = "This is a sound of {}."  # the sidebar's default


@pytest.fixture(scope="module")
def whistle(tmp_path_factory) -> Path:
    clip = make_clip("a whistle", 6.0, SR, np.random.default_rng(11))
    return write_media(
        tmp_path_factory.mktemp("lab") / "whistle.ogg", clip, SR, audio_args=("-c:a", "libvorbis")
    )


def lab() -> AppTest:
    at = dashboard.app(PROMPTS).run()
    assert not at.exception, at.exception
    at.switch_page("pages/clip_lab.py").run()
    assert not at.exception, at.exception
    return at


def bars(at: AppTest) -> dict[str, float]:
    """The bar chart's prompts and probabilities, as drawn."""
    (chart,) = [c for c in at.get("plotly_chart") if "lab_bars" in c.proto.id]
    (trace,) = json.loads(chart.proto.spec)["data"]
    return dict(zip(trace["y"], trace["x"], strict=True))


def player(at: AppTest) -> str:
    """The one audio player's URL (the media file's id is a hash of what it plays)."""
    (audio,) = at.get("audio")
    return str(audio.proto.url)


def test_an_upload_shows_the_clis_numbers(home: Path, whistle: Path, clap) -> None:
    from emotion.classify import Classifier

    at = lab()
    assert [t.value for t in at.title] == ["Clip Lab"]
    at.file_uploader(key="lab_upload").upload(whistle.name, whistle.read_bytes(), "audio/ogg")
    at.run()
    assert not at.exception, at.exception
    drawn = bars(at)
    cli = run_cli("classify", str(whistle), "--labels", LABELS, "--template", TEMPLATE)
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)["scores"]
    # Sorted best first, the background named as such; the same values as the CLI's.
    assert list(drawn.values()) == sorted(drawn.values(), reverse=True)
    assert set(drawn) == {"a whistle", "clicking", "a siren", "silence (background)"}
    assert {k.removesuffix(" (background)"): round(v, 4) for k, v in drawn.items()} == expected
    assert max(expected, key=expected.get) == "a whistle"
    captions = [c.value for c in at.caption]
    assert (
        "6.00 s at 48,000 Hz; the model reads 10 s, so it is padded to 10 s (repeatpad)."
        in captions
    )
    assert sum(drawn.values()) == pytest.approx(1.0)
    # No toolbar over the best bar's label.
    (chart,) = [c for c in at.get("plotly_chart") if "lab_bars" in c.proto.id]
    assert json.loads(chart.proto.config)["displayModeBar"] is False
    # A player of the clip as decoded: a WAV of the model's rate, the clip's length.
    assert player(at).endswith(".wav")
    sound = at.session_state["lab_sound"][1]
    with wave.open(io.BytesIO(sound)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, SR, 6 * SR)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767
    np.testing.assert_allclose(pcm, Classifier(clap).waveform(whistle), rtol=0, atol=1 / 32767)

    at.text_input(key="lab_text").input("a whistle").run()
    cli = run_cli("match", str(whistle), "--text", "a whistle")
    assert cli.returncode == 0, cli.stderr
    (metric,) = at.metric
    assert metric.value == f"{json.loads(cli.stdout)['similarity']:.4f}"
    standing = at.caption[-1].value
    assert standing.startswith("Closer to this clip than ") and "of the 4 prompts" in standing

    card = at.table[0].value
    assert card.loc["Checkpoint"].iloc[0] == str(dashboard.TINY_CLAP)
    assert card.loc["Parameters"].iloc[0] == "0.4 M (426,067)"
    assert card.loc["Sampling rate"].iloc[0] == "48,000 Hz"
    assert card.loc["Precision"].iloc[0] == "fp32" and card.loc["Device"].iloc[0] == "cpu"
    assert card.loc["Published zero-shot"].iloc[0] == "—"  # a local checkpoint: none published


def test_the_model_card_gives_the_published_figures_of_known_checkpoints() -> None:
    from emotion.model.names import KNOWN_MODELS, PUBLISHED_ZERO_SHOT

    assert set(PUBLISHED_ZERO_SHOT) <= set(KNOWN_MODELS)
    assert PUBLISHED_ZERO_SHOT["laion/larger_clap_general"].startswith("ESC-50 90.5 %")
    assert PUBLISHED_ZERO_SHOT["laion/clap-htsat-fused"].startswith("ESC-50 74.0 %")


def test_the_spectrogram_is_what_the_model_reads(home: Path, whistle: Path, clap) -> None:
    from emotion.classify import Classifier

    at = lab()
    at.file_uploader(key="lab_upload").upload(whistle.name, whistle.read_bytes(), "audio/ogg")
    at.run()
    (chart,) = [c for c in at.get("plotly_chart") if "lab_mel" in c.proto.id]
    (heat,) = json.loads(chart.proto.spec)["data"]
    clf = Classifier(clap)
    mel = clf.model_input(clf.waveform(whistle))
    z = heat["z"]  # plotly's typed array: {"dtype", "bdata" (base64), "shape"}
    rows, cols = (int(n) for n in str(z["shape"]).split(","))
    drawn = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(rows, cols)
    assert drawn.shape == mel.T.shape == (clap.mel.n_mels, 1001)  # 10 s: padded to the model's
    np.testing.assert_allclose(drawn, mel.T, rtol=0, atol=1e-4)


def test_a_recording_from_the_microphone_is_classified(home: Path) -> None:
    clip = make_clip("clicking", 4.0, SR, np.random.default_rng(12))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:  # what the browser sends: 16-bit PCM WAV
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes())
    at = lab()
    at.segmented_control(key="lab_from").set_value("Microphone").run()
    at.audio_input(key="lab_mic").upload("recording.wav", buf.getvalue()).run()
    assert not at.exception, at.exception
    drawn = bars(at)
    assert next(iter(drawn)) == "clicking", drawn
    with wave.open(io.BytesIO(at.session_state["lab_sound"][1])) as w:
        assert (w.getframerate(), w.getnframes()) == (SR, 4 * SR)
    assert player(at).endswith(".wav")


def test_a_moment_of_the_library_is_cut_from_its_vod(home: Path, clap, tmp_path: Path) -> None:
    audio = make_vod(
        [("a whistle", 20.0, 30.0), ("clicking", 40.0, 50.0)], 60.0, SR, np.random.default_rng(13)
    )
    vod = write_media(tmp_path / "vod.flac", audio, SR)
    source = open_source(str(vod))
    embed_source(clap, Store(), source, source_identity(source))
    at = lab()
    at.segmented_control(key="lab_from").set_value("Library").run()
    at.text_input(key="lab_at").input("0:40").run()
    assert not at.exception, at.exception
    assert next(iter(bars(at))) == "clicking"
    assert "vod @ 0:40" in [s.value for s in at.subheader]
    at_40 = player(at)
    with wave.open(io.BytesIO(at.session_state["lab_sound"][1])) as w:
        assert w.getnframes() == round(clap.max_length_s * SR)  # the analysis's window
    at.text_input(key="lab_at").input("0:20").run()
    assert next(iter(bars(at))) == "a whistle"
    assert player(at) != at_40  # the player follows the moment
    at.text_input(key="lab_at").input("soon").run()
    assert [e.value for e in at.error] == [
        "'soon' is not a time; give it as h:mm:ss, m:ss or seconds, e.g. 1:02:03."
    ]
    at.text_input(key="lab_at").input("2:00").run()
    assert [e.value for e in at.error] == ["vod lasts 1:00; pick a time before its end."]


def test_how_the_model_reads_a_long_clip_is_said(clap) -> None:
    from ui.clip_lab import reading

    expected = {
        "fusion": "it is read whole, shrunk to 10 s, beside three 10 s crops.",
        "rand_trunc": "it is cut into 10 s pieces whose embeddings are averaged (the first shown).",
    }[clap.mel.truncation]
    assert reading(clap, 25.0) == f"25.00 s at 48,000 Hz; the model reads 10 s, so {expected}"
