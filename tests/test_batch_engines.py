"""The batch's engines: several VODs decoded at once (local) or on Ray give a solo analysis's
vectors byte for byte, and a batch killed mid-VOD resumes where the library stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.batch import Done, Outcome, run_batch
from emotion.batch_inputs import Item
from emotion.engines import LocalEngine, Tally
from emotion.library.store import Store
from emotion.media.audio import ffmpeg_exe
from emotion.pipeline import Settings, embed, moments, open_spec, run
from emotion.ray_engine import actor_cpus, niceness_note
from emotion.scoring.prompts import Prompts
from tests.conftest import TINY_CLAP
from tests.media import write_media
from tests.synth import make_vod

REPO = Path(__file__).resolve().parents[1]
SR = 48_000
LABELS = ["a whistle", "clicking"]
SETTINGS = Settings(prompts=Prompts(labels=LABELS, background=["silence"]))
VODS = {
    "monday": [("a whistle", 5.0, 12.0)],
    "tuesday": [("clicking", 15.0, 24.0)],
    "wednesday": [("a whistle", 20.0, 28.0), ("clicking", 2.0, 9.0)],
}
BATCH = 3  # windows per batch: several batches per VOD, so lanes interleave


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("archive")
    paths = [
        write_media(
            folder / f"{name}.flac", make_vod(events, 37.0, SR, np.random.default_rng(i)), SR
        )
        for i, (name, events) in enumerate(VODS.items())
    ]
    broken = folder / "broken.mp4"
    broken.write_text("not a video")
    return [paths[0], broken, *paths[1:]]


def _batch(
    clap, items: list[Path], home: Path, out: Path, engine=None
) -> tuple[list[Outcome], dict]:
    """``run_batch`` as the CLI runs it; the outcomes and each VOD's stored vectors (bytes)
    and highlights, by title."""
    store = Store(home)
    in_flight, most = [0], [0]
    guard = threading.Lock()

    def one(spec: str) -> Done:
        with guard:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            tally = Tally(engine.embedder) if engine is not None else None
            result = run(
                spec, clap, store, SETTINGS, out / Path(spec).stem, batch_size=BATCH, embedder=tally
            )
        finally:
            with guard:
                in_flight[0] -= 1
        a = result.analysis
        return Done(
            a.source.title,
            a.analysis_id,
            len(a.window_starts_s),
            len(a.highlights),
            tally.windows if tally is not None else 0,
        )

    lanes = engine.lanes if engine is not None else 1
    outcomes = run_batch([Item(str(p)) for p in items], one, out, lanes=lanes)
    assert most[0] == min(lanes, len(items))  # the lanes did run VODs at once
    return outcomes, _library(clap, store)


def _library(clap, store: Store) -> dict[str, tuple[bytes, list, float]]:
    """Each analysis of ``store`` by title: its vectors' bytes, highlights and duration."""
    found = {}
    for record in store.analyses():
        analysis = moments(record, store, clap, SETTINGS)
        found[record.source.title] = (
            store.vectors(record).tobytes(),
            analysis.highlights,
            record.duration_s,
        )
    return found


@pytest.fixture(scope="module")
def solo(clap, archive: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each VOD analysed alone, one after another: what every engine must equal."""
    home = tmp_path_factory.mktemp("solo")
    store = Store(home)
    for path in archive[:1] + archive[2:]:
        run(path, clap, store, SETTINGS, home / "out" / path.stem, batch_size=BATCH)
    library = _library(clap, store)
    assert sorted(library) == ["monday", "tuesday", "wednesday"]
    assert [h.label for h in library["monday"][1]] == ["a whistle"]  # and the VODs say something
    return library


@pytest.mark.parametrize("decoders", [1, 3])
def test_the_local_engine_equals_solo_analyses_whatever_the_decoders(
    clap, archive: list[Path], solo: dict, tmp_path: Path, decoders: int
) -> None:
    engine = LocalEngine(clap, decoders)
    outcomes, library = _batch(clap, archive, tmp_path / "home", tmp_path / "out", engine)
    assert [o.ok for o in outcomes] == [True, False, True, True]  # in the items' order
    assert outcomes[1].error is not None and outcomes[1].error.startswith("broken.mp4 ")
    assert library == solo  # the same vectors, byte for byte, and the same highlights
    windows = [o.windows for o in outcomes if o.ok]
    assert [o.embedded for o in outcomes if o.ok] == windows == [7, 7, 7]
    assert engine.model.windows == 21 and engine.model.batches == 9  # every batch of 3 alone

    again, _ = _batch(clap, archive, tmp_path / "home", tmp_path / "out", engine)
    assert [o.embedded for o in again] == [0, 0, 0, 0]  # the library had them all
    assert engine.model.windows == 21


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance on this machine's CPUs, started as the engine starts one."""
    ray = pytest.importorskip("ray")
    from emotion.ray_engine import connect

    connect(ray, None)
    yield ray
    ray.shutdown()


@pytest.mark.slow  # a Ray instance and its model actor start (~15 s on 2 cores)
def test_the_ray_engine_equals_the_local_engine(
    clap, archive: list[Path], solo: dict, tmp_path: Path, ray_cluster
) -> None:
    from emotion.ray_engine import RayEngine

    started = time.monotonic()
    notes: list[str] = []
    engine = RayEngine(clap, on_note=notes.append)
    try:
        assert engine.lanes == 2 and engine.batch_size is None  # one CPU actor, 2 decoders
        assert engine.niceness == 0 and notes == []  # workers started at niceness 0
        outcomes, library = _batch(clap, archive, tmp_path / "home", tmp_path / "out", engine)
    finally:
        engine.close()
    assert [o.ok for o in outcomes] == [True, False, True, True]
    # a decoding task's own sentence comes back as it is, not as Ray's traceback
    assert outcomes[1].error is not None and outcomes[1].error.startswith("broken.mp4 ")
    assert "Traceback" not in outcomes[1].error
    assert library == solo
    assert [o.embedded for o in outcomes if o.ok] == [7, 7, 7]
    assert time.monotonic() - started < 60


def test_each_node_keeps_room_for_a_decoder_beside_its_actors() -> None:
    assert actor_cpus(16, 1) == 1.0  # a CPU node: one actor of one CPU
    assert actor_cpus(1, 1) == 0.5  # a node of 1 CPU: half for the actor, half to decode
    assert actor_cpus(4, 8) == pytest.approx(3.5 / 8)  # 8 GPUs, 4 CPUs
    assert actor_cpus(0, 1) == 0.0  # a GPU node without CPUs: its decoding runs elsewhere
    assert niceness_note(0) is None
    assert "niceness 15" in (niceness_note(15) or "")


def _n_done(home: Path) -> dict[str, tuple[int, str]]:
    """``VOD title → (windows stored, status)`` in the library at ``home``."""
    if not (home / "library.sqlite").exists():
        return {}
    with (
        contextlib.closing(sqlite3.connect(home / "library.sqlite")) as db,
        contextlib.suppress(sqlite3.OperationalError),  # the schema is not created yet
    ):
        rows = db.execute(
            "SELECT s.title, a.n_done, a.status FROM analyses a "
            "JOIN sources s ON s.id = a.source_id"
        ).fetchall()
        return {title: (n, status) for title, n, status in rows}
    return {}


def _hypeline(*args: str, home: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``python -m emotion ARGS`` over ``home``."""
    env = {
        **os.environ,
        "HYPELINE_MODEL": str(TINY_CLAP),
        "HYPELINE_HOME": str(home),
        "PYTHONPATH": str(REPO),
    }
    return [sys.executable, "-m", "emotion", *args], env


def _summary(stdout: str) -> dict[str, tuple[int, int]]:
    """``title → (windows, embedded)`` from the batch's table on stdout."""
    rows = {}
    for line in stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 5 and parts[1].isdigit() and parts[2].isdigit():
            rows[parts[0]] = (int(parts[1]), int(parts[2]))
    return rows


@pytest.mark.slow  # three CLI runs, each loading the model (~25 s in all on 2 cores)
def test_a_batch_killed_mid_vod_resumes_where_the_library_stopped(clap, tmp_path: Path) -> None:
    vods = tmp_path / "vods"
    vods.mkdir()
    write_media(
        vods / "a-first.flac",
        make_vod([("a whistle", 5.0, 12.0)], 20.0, SR, np.random.default_rng(1)),
        SR,
    )
    # A long second VOD, embedded one window a batch: the kill lands inside it, while the
    # default engine (2 decoders) has the first done and maybe the third under way.
    long_vod = vods / "b-long.m4a"
    graph = (
        "anoisesrc=d=150:c=pink:r=16000:a=0.05[n];sine=f=440:r=16000:d=150[s];[n][s]amix=inputs=2"
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-filter_complex",
            graph,
            "-ac",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "24k",
            str(long_vod),
        ],
        check=True,
    )
    write_media(
        vods / "c-last.flac",
        make_vod([("clicking", 3.0, 9.0)], 20.0, SR, np.random.default_rng(3)),
        SR,
    )
    home, out = tmp_path / "home", tmp_path / "out"
    args = [
        "batch",
        str(vods),
        "--labels",
        ", ".join(LABELS),
        "--background",
        "silence",
        "--out",
        str(out),
        "--formats",
        "json",
        "--batch-size",
        "1",
    ]
    cmd, env = _hypeline(*args, home=home)

    with open(tmp_path / "killed.err", "wb") as err:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            done = _n_done(home)
            if (
                done.get("a-first", (0, ""))[1] == "complete"
                and done.get("b-long", (0, ""))[0] >= 3
            ):
                break
            time.sleep(0.02)
        assert proc.poll() is None, (tmp_path / "killed.err").read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = _n_done(home)
    assert killed["a-first"] == (3, "complete")
    assert killed["b-long"][1] == "running" and 3 <= killed["b-long"][0] < 29
    windows = {"a-first": 3, "b-long": 29, "c-last": 3}
    vectors = home / "embeddings"
    before = {title: (vectors / f"{i}.f32").read_bytes() for title, i in _ids(home).items()}
    mtimes = {t: (vectors / f"{i}.f32").stat().st_mtime_ns for t, i in _ids(home).items()}

    rerun = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    # a finished VOD cost nothing, a cut one only what it missed, one not begun all of it
    stored = {title: killed.get(title, (0, ""))[0] for title in windows}
    assert _summary(rerun.stdout) == {t: (n, n - stored[t]) for t, n in windows.items()}
    for title, i in _ids(home).items():
        now = vectors / f"{i}.f32"
        if killed.get(title, (0, ""))[1] == "complete":
            assert now.stat().st_mtime_ns == mtimes[title] and now.read_bytes() == before[title]
        elif title in before:  # appended to, not redone
            assert now.read_bytes()[: len(before[title])] == before[title]

    # The library is the one an uninterrupted run makes (here: solo analyses, in process).
    solo, store = Store(tmp_path / "solo"), Store(home)
    by_title = {r.source.title: r for r in store.analyses()}
    for path in sorted(vods.iterdir()):
        reference = embed(open_spec(path), clap, solo, batch_size=1)
        record = by_title[path.stem]
        assert record.complete and record.duration_s == reference.duration_s
        assert store.vectors(record).tobytes() == solo.vectors(reference).tobytes(), path.name

    files = {p.name: p.stat().st_mtime_ns for p in vectors.iterdir()}
    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _summary(again.stdout) == {"a-first": (3, 0), "b-long": (29, 0), "c-last": (3, 0)}
    assert {p.name: p.stat().st_mtime_ns for p in vectors.iterdir()} == files


def _ids(home: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(home / "library.sqlite")) as db:
        rows = db.execute(
            "SELECT s.title, a.id FROM analyses a JOIN sources s ON s.id = a.source_id"
        ).fetchall()
    return dict(rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--engine", "ray"],
            'The Ray engine needs Ray, which is not installed; run pip install "hypeline[ray]".',
        ),
        (
            ["--ray-address", "auto"],
            "A Ray address is for the Ray engine; ask for that engine, or leave the address out.",
        ),
        (
            ["--decoders", "0"],
            "The number of decoders counts VODs decoded at once; give 1 or more.",
        ),
    ],
)
def test_an_engine_that_cannot_run_is_one_sentence_before_any_work(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hypeline_cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # as on a machine without Ray
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    (tmp_path / "vod.flac").write_bytes(b"")
    code = main(["batch", str(tmp_path / "vod.flac"), "--labels", "a whistle", *args])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"hypeline: {message}"
    assert not (tmp_path / "home").exists()  # no library, no model loaded
