"""Prompt packs: round trip, version check, one sentence for a bad file; review and learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion.errors import PackError
from emotion.library.store import Store
from emotion.scoring.adapt import Example
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.keywords import DEFAULT_KEYWORDS
from emotion.scoring.packs import PACK_VERSION, Pack, load_pack, parse_pack, save_pack
from hypeline_cli.review import parse_span
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod
from ui.packs import apply

REPO = Path(__file__).resolve().parents[1]
SR = 48_000


def _pack() -> Pack:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((3, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Pack(
        name="my stream",
        labels=["a tone", "laughter"],
        background=["silence"],
        colors={"a tone": "#636EFA", "laughter": "#EF553B", "silence": "#9E9E9E"},
        template="the sound of {}",
        settings=HighlightSettings(threshold=0.7, merge_gap_s=2.0, top_k=5, smoothing_s=10.0),
        model="tests/fixtures/tiny-clap",
        examples=[
            Example("a tone", True, vectors[0], "vod0", 10.0, 30.0),
            Example("a tone", False, vectors[1], "vod0", 50.0, 70.0),
            Example("laughter", True, vectors[2], "Friday stream", 3600.5, 3610.0),
        ],
    )


def test_round_trip(tmp_path: Path) -> None:
    pack = _pack()
    path = save_pack(pack, tmp_path / "pack.json")
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == ("hypeline-pack", 1)  # no chat keywords
    assert (
        data["examples"][2]["source"] == "Friday stream"
        and data["examples"][2]["start_s"] == 3600.5
    )
    back = load_pack(path)
    assert (back.name, back.labels, back.background) == (pack.name, pack.labels, pack.background)
    assert (back.colors, back.template, back.settings, back.model) == (
        pack.colors,
        pack.template,
        pack.settings,
        pack.model,
    )
    assert [(e.label, e.kept, e.title, e.start_s, e.end_s) for e in back.examples] == [
        (e.label, e.kept, e.title, e.start_s, e.end_s) for e in pack.examples
    ]
    for a, b in zip(back.examples, pack.examples, strict=True):
        np.testing.assert_allclose(a.vector, b.vector, atol=1e-7)
    assert not list(tmp_path.glob(".*tmp"))


def test_chat_keywords_round_trip_and_a_pack_without_them_stays_version_1(
    tmp_path: Path,
) -> None:
    pack = _pack()
    pack.chat_keywords = ["catJAM", "KEKW", "clip  it"]
    data = json.loads(save_pack(pack, tmp_path / "pack.json").read_text())
    assert (data["version"], data["chat_keywords"]) == (2, ["catJAM", "KEKW", "clip  it"])
    assert load_pack(tmp_path / "pack.json").chat_keywords == ["catJAM", "KEKW", "clip it"]
    plain = _pack().to_dict()  # no keywords: what older readers open, read as before
    assert plain["version"] == 1 and "chat_keywords" not in plain
    assert parse_pack(json.dumps(plain)).chat_keywords is None
    # A version 1 pack written before keywords existed loads, leaving the default list.
    old = {k: v for k, v in plain.items() if k != "examples"}
    assert parse_pack(json.dumps(old), "old.json").chat_keywords is None
    for bad, said in [
        (["KEKW", "a b c"], "'a b c' has 3 words"),
        ([], "remove the blank ones"),
        ("KEKW", "damaged"),
    ]:
        with pytest.raises(PackError, match=said):
            parse_pack(json.dumps(plain | {"version": 2, "chat_keywords": bad}), "bad.json")


def test_newer_version_is_refused(tmp_path: Path) -> None:
    data = _pack().to_dict() | {"version": PACK_VERSION + 1}
    with pytest.raises(PackError) as e:
        parse_pack(json.dumps(data), "new.json")
    assert str(e.value) == (
        f"new.json is a version {PACK_VERSION + 1} pack and this Hypeline reads up to version "
        f"{PACK_VERSION}; update Hypeline to open it."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "bad.json is not valid JSON; export the pack again."),
        ('{"labels": ["a"]}', "bad.json is not a Hypeline prompt pack; give a file saved as one."),
        ('{"format": "hypeline-pack", "version": 1}', "bad.json is damaged"),
        (
            '{"format": "hypeline-pack", "version": 1, "labels": ["a", "A"]}',
            "bad.json holds settings that cannot be used: The label 'a' (as 'A') is given twice",
        ),
        (
            '{"format": "hypeline-pack", "version": 1, "labels": ["a"], '
            '"examples": [{"label": "a", "kept": true, "vector": ["x"]}]}',
            "bad.json is damaged",
        ),
    ],
)
def test_bad_file_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(PackError) as e:
        parse_pack(text, "bad.json")
    assert str(e.value).startswith(message)
    assert str(e.value).count(". ") == 0 or "given twice" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="No pack file at"):
        load_pack(tmp_path / "nope.json")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYPELINE_MODEL": str(TINY_CLAP), "HYPELINE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "emotion", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_analyze_with_a_pack_then_review_and_learn(tmp_path: Path) -> None:
    # sirens at 10 and 90 s, whistles at 50 and 120 s: "a tone" finds both kinds
    events = [
        ("a siren", 10.0, 30.0),
        ("a whistle", 50.0, 70.0),
        ("a siren", 90.0, 110.0),
        ("a whistle", 120.0, 140.0),
    ]
    vod = write_media(
        tmp_path / "vod.wav", make_vod(events, 150.0, SR, np.random.default_rng(300)), SR
    )
    pack = Pack(labels=["a tone"], background=["silence", "clicking"])
    pack_path = save_pack(pack, tmp_path / "pack.json")
    home = tmp_path / "home"
    out = run(
        home,
        "analyze",
        str(vod),
        "--pack",
        str(pack_path),
        "--formats",
        "json",
        "--out",
        str(tmp_path / "out"),
    )
    assert out.returncode == 0, out.stderr
    assert "4 highlight(s) for a tone" in out.stdout

    (record,) = Store(home).analyses()
    out = run(
        home,
        "review",
        str(record.id),
        "--label",
        "a tone",
        "--keep",
        "0:10-0:30",
        "--keep",
        "1:30-1:50",
        "--reject",
        "50-70,2:00-2:20",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "vod: 4 pick(s)"
    assert "keep   a tone  0:10–0:30" in out.stdout and "reject a tone  2:00–2:20" in out.stdout

    out = run(
        home,
        "analyze",
        str(vod),
        "--pack",
        str(pack_path),
        "--learn",
        "--formats",
        "json",
        "--out",
        str(tmp_path / "out"),
    )
    assert out.returncode == 0, out.stderr
    assert "learned a tone: 2 kept, 2 rejected; leave-one-out precision 0.00 → 1.00" in out.stderr
    assert "2 highlight(s) for a tone" in out.stdout, out.stdout
    starts = [
        parse_span(line.split("–")[0])[0] for line in out.stdout.splitlines() if "a tone  (" in line
    ]
    assert len(starts) == 2 and 5 <= starts[0] <= 15 and 85 <= starts[1] <= 95, out.stdout  # sirens


def test_bad_pack_and_bad_review_are_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    out = run(tmp_path / "home", "analyze", str(bad), "--pack", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        == f"hypeline: {bad} is not a Hypeline prompt pack; give a file saved as one."
    )
    out = run(tmp_path / "home", "review", "7", "--label", "x", "--keep", "1:2:3:4")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "hypeline: '1:2:3:4' is not a time; write it as m:ss, h:mm:ss or seconds "
        "(or a span, 1:20-1:35)."
    )
    out = run(tmp_path / "home", "review", "7", "--label", "x", "--keep", "1:20")
    assert (
        out.stderr.strip() == "hypeline: There is no analysis 7 in the library; check the number."
    )


def test_a_packs_chat_keywords_reach_the_sidebar() -> None:
    state: dict[str, object] = {}
    apply(state, Pack(labels=["a tone"], chat_keywords=["catJAM", "clip it"]))
    assert state["chat_keywords"] == "catJAM, clip it"  # the sidebar's box, as typed there
    apply(state, Pack(labels=["a tone"]))  # a pack without them: the default list again
    assert state["chat_keywords"] == ", ".join(DEFAULT_KEYWORDS)
