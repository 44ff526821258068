"""`python -m emotion search` and `python -m emotion library` on an analysed library."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from emotion.library.store import Store
from hypeline_cli.main import main
from tests.conftest import TINY_CLAP
from tests.library import SR, analysed_library, events_of
from tests.media import write_media
from tests.synth import make_clip


@pytest.fixture(scope="module")
def library(clap, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The analysed synthetic VODs; tests must not change them."""
    return analysed_library(clap, tmp_path_factory)


@pytest.fixture
def home(library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    """A copy of the library to change, as $HYPELINE_HOME, with the fixture model."""
    copy = tmp_path / "home"
    shutil.copytree(library[0], copy)
    monkeypatch.setenv("HYPELINE_HOME", str(copy))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return copy, library[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def overlaps(hit: dict, event: tuple[int, float, float]) -> bool:
    aid, start_s, end_s = event
    return (
        hit["analysis_id"] == aid
        and hit["best_start_s"] + 10.0 > start_s + 5.0
        and (hit["best_start_s"] < end_s - 5.0)
    )


def test_search_json_one_object_per_line(home, capsys) -> None:
    _, ids = home
    code, out, err = run(capsys, "search", "a siren", "--json", "--top", "4", "--device", "cpu")
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == 4
    assert set(hits[0]) == {"analysis_id", "title", "start_s", "end_s", "score", "best_start_s"}
    sirens = events_of("a siren", ids)
    assert all(any(overlaps(h, e) for e in sirens) for h in hits[:2])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_leaves_out_moments_below_the_floor(home, capsys) -> None:
    args = ("search", "a whistle", "--json", "--top", "100", "--device", "cpu")
    code, out, err = run(capsys, *args, "--min-score", "-1")
    assert code == 0, err
    everything = [json.loads(line)["score"] for line in out.splitlines()]
    code, out, err = run(capsys, *args)  # the default floor: 0
    floored = [json.loads(line)["score"] for line in out.splitlines()]
    assert min(everything) < 0.0 <= min(floored) and len(floored) < len(everything)


def test_search_table_has_clock_times(home, capsys) -> None:
    _, ids = home
    code, out, _ = run(
        capsys, "search", "rumbling", "--top", "1", "--vod", str(ids["Tuesday Stream"])
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1 moment(s) for 'rumbling'"
    first = lines[2].split()
    assert first[0] == "1" and first[2].startswith("0:01:") and first[3].startswith("0:01:")
    assert first[4] == str(ids["Tuesday Stream"]) and lines[2].endswith("Tuesday Stream")


def test_search_like_a_clip_file(home, capsys, tmp_path: Path) -> None:
    _, ids = home
    clip = write_media(
        tmp_path / "siren.wav", make_clip("a siren", 8.0, SR, np.random.default_rng(5)), SR
    )
    code, out, err = run(capsys, "search", "--like", str(clip), "--json", "--top", "3")
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    sirens = events_of("a siren", ids)
    assert {h["analysis_id"] for h in hits[:2]} == {aid for aid, _, _ in sirens}


def test_search_like_a_stored_moment_needs_no_model(home, capsys, monkeypatch) -> None:
    _, ids = home
    monkeypatch.setenv("HYPELINE_MODEL", "/nowhere/no-model")  # the vectors are stored
    monday = ids["Monday Stream"]
    code, out, err = run(capsys, "search", "--like", f"{monday}@0:00:20", "--json", "--top", "3")
    assert code == 0, err
    first = json.loads(out.splitlines()[0])
    (friday_whistle,) = [e for e in events_of("a whistle", ids) if e[0] != monday]
    assert overlaps(first, friday_whistle)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "a siren", "--vod", "99"], "no analysis 99"),
        (["search", "--like", "1@1:75"], "is not a time"),
        (["search", "--like", "1@9:00:00"], "is outside Monday Stream"),
        (["search", "--like", "nothing-here.wav"], "neither a file nor a moment"),
        (["search", "a siren", "--like", "1@0:10"], "not both"),
        (["search"], "not both"),
        (["search", "a siren", "--since", "yesterday"], "not a date"),
        (["search", "a siren", "--since", "2999-01-01"], "No analysed VOD"),
        (["search", "a siren", "--top", "0"], "--top must be between"),
        (["search", "a siren", "--template", "no slot"], "exactly once"),
        (["library", "rm", "99", "--yes"], "no analysis 99"),
        (["library", "rename", "99", "x"], "no analysis 99"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(home, capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("hypeline: ") and message in err and err.count("\n") == 1


def test_search_in_an_empty_library(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    code, out, err = run(capsys, "search", "a siren")
    assert code == 2 and out == "" and "No analysed VOD made with" in err


def test_library_list_shows_each_analysis(home, capsys) -> None:
    path, ids = home
    Store(path).set_last_labels(ids["Friday Stream"], ["a siren", "clicking"])
    code, out, _ = run(capsys, "library")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.split()[0].isdigit()}
    assert set(rows) == {str(i) for i in ids.values()}
    friday = rows[str(ids["Friday Stream"])]
    assert "Friday Stream" in friday and "0:02:00" in friday and str(TINY_CLAP) in friday
    assert "prompts: a siren, clicking" in out
    code, out, _ = run(capsys, "library", "list", "--json")
    entries = {e["id"]: e for e in map(json.loads, out.splitlines())}
    e = entries[ids["Friday Stream"]]
    assert e["title"] == "Friday Stream" and e["duration_s"] == pytest.approx(120.0, abs=0.05)
    assert e["last_labels"] == ["a siren", "clicking"]
    # 23 windows of 32 numbers, 4 bytes each; the file is the user's own, not counted.
    assert e["size_bytes"] == 23 * 32 * 4


def test_library_rename_shows_everywhere(home, capsys) -> None:
    _, ids = home
    aid = ids["Monday Stream"]
    code, out, _ = run(capsys, "library", "rename", str(aid), "Best of Monday")
    assert (code, out) == (0, f"{aid}: Best of Monday\n")
    _, out, _ = run(capsys, "library")
    assert "Best of Monday" in out and "Monday Stream" not in out
    _, out, _ = run(capsys, "search", "a whistle", "--json", "--vod", str(aid), "--top", "1")
    assert json.loads(out)["title"] == "Best of Monday"
    run(capsys, "library", "rename", str(aid), "")
    _, out, _ = run(capsys, "library")
    assert "Monday Stream" in out


def test_library_rm_asks_then_deletes_files(home, capsys, monkeypatch) -> None:
    path, ids = home
    aid = ids["Tuesday Stream"]
    vectors = path / "embeddings" / f"{aid}.f32"
    assert vectors.is_file()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = run(capsys, "library", "rm", str(aid))
    assert code == 1 and "Nothing deleted." in err and vectors.is_file()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = run(capsys, "library", "rm", str(aid))
    assert code == 0, err
    assert out.startswith(f"Deleted Tuesday Stream (analysis {aid})")
    assert not vectors.exists() and not (path / "embeddings" / f"{aid}.lock").exists()
    assert aid not in {r.id for r in Store(path).analyses()}
    _, out, _ = run(capsys, "search", "rumbling", "--json", "--top", "20")
    assert aid not in {json.loads(line)["analysis_id"] for line in out.splitlines()}


def test_library_rm_refuses_while_another_process_writes(home, capsys) -> None:
    path, ids = home
    aid = ids["Friday Stream"]
    lease = Store(path).lease(aid)
    assert lease is not None
    with lease:
        code, _, err = run(capsys, "library", "rm", str(aid), "--yes")
    assert code == 2 and "being analysed by another process" in err
    assert (path / "embeddings" / f"{aid}.f32").is_file()


def test_analyze_records_the_labels_it_scored_with(home, capsys, tmp_path: Path) -> None:
    path, ids = home
    aid = ids["Monday Stream"]
    vod = Store(path).analysis(aid).source.path
    code, _, err = run(
        capsys,
        "analyze",
        str(vod),
        "--labels",
        "a siren, a whistle",
        "--background",
        "silence",
        "--formats",
        "json",
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 0, err
    assert Store(path).analysis(aid).last_labels == ("a siren", "a whistle")
