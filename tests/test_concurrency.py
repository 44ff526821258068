"""Many `analyze` processes on one library (issue 13): one writer per analysis, solo results.

Every run here uses batches of 2, so the runs overlap for seconds and a run that takes
over another's analysis batches the rest as the solo run did: the stored vectors can be
compared byte for byte.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from tests.media import write_media
from tests.running import n_done, start_analyze
from tests.synth import make_vod

SR = 48_000
EVENTS = [("clicking", 20.0, 32.0), ("a whistle", 65.0, 72.0), ("clicking", 120.0, 130.0)]
ARGS = [
    "--labels",
    "a whistle, clicking",
    "--background",
    "silence",
    "--batch-size",
    "2",
    "--formats",
    "json",
]
N_WINDOWS = 29  # 150 s
FOLLOWING = "note: Another process is analysing this VOD; following its progress."
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def vod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio = make_vod(EVENTS, 150.0, SR, np.random.default_rng(13))
    return write_media(tmp_path_factory.mktemp("vod") / "Stream Night.flac", audio, SR)


@pytest.fixture(scope="module")
def solo(vod: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, bytes]:
    """One run alone: its home, its JSON export, its stored vectors."""
    tmp = tmp_path_factory.mktemp("solo")
    run_all([[str(vod), *ARGS, "--out", str(tmp / "out")]], tmp / "home", tmp)
    doc = json.loads((tmp / "out" / "highlights.json").read_text())
    assert sorted(h["label"] for h in doc["highlights"]) == ["a whistle", "clicking", "clicking"]
    vectors = (tmp / "home" / "embeddings" / "1.f32").read_bytes()
    assert len(vectors) == N_WINDOWS * 32 * 4
    return tmp / "home", doc, vectors


def run_all(
    commands: list[list[str]], home: Path, tmp: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once on one home; wait for all; each must exit 0."""
    procs = [start_analyze(*c, home=home, log=tmp / f"run{i}") for i, c in enumerate(commands)]
    return [finish(p, tmp / f"run{i}") for i, p in enumerate(procs)]


def finish(proc: subprocess.Popen[bytes], log: Path) -> subprocess.CompletedProcess[str]:
    try:
        proc.wait(timeout=RUN_TIMEOUT_S)
    finally:
        proc.kill()
        proc.wait()
    out, err = Path(f"{log}.out").read_text(), Path(f"{log}.err").read_text()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def export(folder: Path) -> dict:
    return json.loads((folder / "highlights.json").read_text())


def test_two_analyses_of_one_vod_at_once_give_the_solo_result(
    vod: Path, solo, tmp_path: Path
) -> None:
    _, expected, vectors = solo
    home = tmp_path / "home"
    runs = run_all(
        [[str(vod), *ARGS, "--out", str(tmp_path / name)] for name in "ab"], home, tmp_path
    )
    for name in "ab":
        assert export(tmp_path / name) == expected
    # One followed the other (said so in one line) instead of writing too.
    assert sorted(FOLLOWING in r.stderr.splitlines() for r in runs) == [False, True]
    assert runs[0].stdout.splitlines()[:-1] == runs[1].stdout.splitlines()[:-1]
    assert n_done(home) == {1: N_WINDOWS}
    assert (home / "embeddings" / "1.f32").read_bytes() == vectors


def test_kill_9_of_the_holder_the_waiter_takes_over_and_gets_the_solo_result(
    vod: Path, solo, tmp_path: Path
) -> None:
    _, expected, vectors = solo
    home = tmp_path / "home"
    procs = [
        start_analyze(
            str(vod), *ARGS, "--out", str(tmp_path / name), home=home, log=tmp_path / name
        )
        for name in "ab"
    ]
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        waiter = None
        while waiter is None or n_done(home).get(1, 0) < 4:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.05)
            said = [FOLLOWING in (tmp_path / f"{name}.err").read_text() for name in "ab"]
            waiter = said.index(True) if any(said) else None
        holder = procs[1 - waiter]
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        stored = n_done(home)[1]
        assert holder.returncode == -signal.SIGKILL and 0 < stored < N_WINDOWS
        name = "ab"[waiter]
        finish(procs[waiter], tmp_path / name)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert not (tmp_path / "ab"[1 - waiter]).exists()  # the killed run exported nothing
    assert export(tmp_path / name) == expected
    assert n_done(home) == {1: N_WINDOWS}
    assert (home / "embeddings" / "1.f32").read_bytes() == vectors


def test_no_wait_exits_2_in_one_line_while_another_holds_the_vod(
    clap, vod: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store = Store(home)
    source = open_source(str(vod))
    record = store.open_analysis(
        source,
        source_identity(source),
        clap.name,
        10.0,
        5.0,
        clap.embedding_dim,
        source.check_track(None),
    )
    with store.lease(record.id):  # as a run of another process would
        proc = start_analyze(
            str(vod),
            *ARGS,
            "--no-wait",
            "--out",
            str(tmp_path / "out"),
            home=home,
            log=tmp_path / "run",
        )
        proc.wait(timeout=RUN_TIMEOUT_S)
    err = (tmp_path / "run.err").read_text()
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [
        "hypeline: Another process is analysing this VOD; wait for it to finish, or run "
        "again later."
    ]
    assert not (tmp_path / "out").exists()
    assert n_done(home) == {record.id: 0}


def test_a_store_damaged_by_hand_is_repaired_on_open_with_a_note(
    vod: Path, solo, tmp_path: Path
) -> None:
    solo_home, expected, vectors = solo
    home = tmp_path / "home"
    shutil.copytree(solo_home, home)
    (home / "embeddings" / "1.f32").write_bytes(vectors + b"\xff" * 12)
    (run,) = run_all([[str(vod), *ARGS, "--out", str(tmp_path / "out")]], home, tmp_path)
    assert run.stderr.splitlines() == [
        f"note: The stored vectors of Stream Night had 12 bytes more than its {N_WINDOWS} "
        "windows (a second writer); embedding it again."
    ]
    assert export(tmp_path / "out") == expected
    assert (home / "embeddings" / "1.f32").read_bytes() == vectors


def test_three_vods_at_once_by_three_processes_are_each_right(clap, tmp_path: Path) -> None:
    vods = {
        "one": [("a whistle", 10.0, 20.0)],
        "two": [("clicking", 25.0, 40.0)],
        "three": [("a whistle", 5.0, 15.0), ("clicking", 30.0, 40.0)],
    }
    paths, references = {}, {}
    reference_store = Store(tmp_path / "reference")
    for i, (name, events) in enumerate(vods.items()):
        audio = make_vod(events, 50.0, SR, np.random.default_rng(20 + i))
        paths[name] = write_media(tmp_path / f"{name}.flac", audio, SR)
        source = open_source(str(paths[name]))
        record = embed_source(clap, reference_store, source, source_identity(source), batch_size=2)
        references[name] = reference_store.vectors(record)
    home = tmp_path / "home"
    runs = run_all(
        [[str(paths[name]), *ARGS, "--out", str(tmp_path / name)] for name in vods], home, tmp_path
    )
    assert not any(FOLLOWING in r.stderr for r in runs)  # different VODs never wait
    store = Store(home)
    analyses = {r.source.title: r for r in store.analyses()}
    assert sorted(analyses) == sorted(vods)
    for name, events in vods.items():
        record = analyses[name]
        assert record.complete and record.n_done == 9
        np.testing.assert_array_equal(store.vectors(record), references[name])
        found = sorted(
            (h["label"], h["start_s"], h["end_s"]) for h in export(tmp_path / name)["highlights"]
        )
        assert [f[0] for f in found] == sorted(e[0] for e in events), found
        for (label, start_s, end_s), (got, got_start, got_end) in zip(
            sorted(events), found, strict=True
        ):
            assert got == label and abs(got_start - start_s) <= 5 and abs(got_end - end_s) <= 5
