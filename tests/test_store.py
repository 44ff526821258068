"""The store with many callers: WAL, leases on writes, and vectors checked against the record."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.errors import BusyError, Cancelled, StoreError
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from emotion.progress import Progress
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
EVENTS = [("a whistle", 10.0, 20.0), ("clicking", 35.0, 45.0)]
LABELS = ["a whistle", "clicking"]
N_WINDOWS = 11  # 60 s: starts 0, 5, …, 50


@pytest.fixture(scope="module")
def vod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio = make_vod(EVENTS, 60.0, SR, np.random.default_rng(11))
    return write_media(tmp_path_factory.mktemp("vod") / "short.flac", audio, SR)


@pytest.fixture(scope="module")
def clean(clap, vod: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The vectors of an undisturbed analysis of the VOD."""
    store = Store(tmp_path_factory.mktemp("clean"))
    source = open_source(str(vod))
    vectors = store.vectors(embed_source(clap, store, source, source_identity(source)))
    assert vectors.shape == (N_WINDOWS, clap.embedding_dim)
    return vectors


def highlights(clap, store: Store, record) -> list[tuple[str, float, float]]:
    analysis = score(record, store.vectors(record), clap, LABELS, ["silence"])
    return [(h.label, h.start_s, h.end_s) for h in analysis.highlights]


def test_the_library_runs_in_wal_mode_and_readers_do_not_block_the_writer(
    clap, tmp_path: Path, vod: Path
) -> None:
    store = Store(tmp_path)
    with sqlite3.connect(store.db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    source = open_source(str(vod))
    record = store.open_analysis(source, "vod", clap.name, 10.0, 5.0, clap.embedding_dim)
    reader = sqlite3.connect(store.db_path)
    reader.execute("BEGIN")
    assert reader.execute("SELECT n_done FROM analyses").fetchone() == (0,)  # a read is open
    with store.lease(record.id) as lease:  # type: ignore[union-attr]
        started = time.monotonic()
        store.append(lease, record.id, clap.embedding_dim, np.ones((2, clap.embedding_dim)), 2)
        assert time.monotonic() - started < 1.0  # not held up by the open read
        # The open read keeps its snapshot; a new read sees the whole batch.
        assert reader.execute("SELECT n_done FROM analyses").fetchone() == (0,)
        assert store.analysis(record.id).n_done == 2
    reader.close()


def test_readers_take_only_counted_vectors_while_a_batch_is_written(
    clap, tmp_path: Path, vod: Path
) -> None:
    store = Store(tmp_path)
    source = open_source(str(vod))
    record = store.open_analysis(source, "vod", clap.name, 10.0, 5.0, clap.embedding_dim)
    dim = clap.embedding_dim
    with store.lease(record.id) as lease:  # type: ignore[union-attr]
        store.append(lease, record.id, dim, np.full((2, dim), 7.0), 2)
        with open(store.vectors_dir / f"{record.id}.f32", "ab") as f:
            f.write(np.ones(dim + 5, "<f4").tobytes())  # the next batch, half written
        running = store.analysis(record.id)
        assert store.check(running) is None
        assert store.vectors(running).tolist() == [[7.0] * dim] * 2
        # Writing takes the lease: a caller without it cannot append or finish.
        with pytest.raises(RuntimeError, match="without holding its lease"):
            store.append(lease, record.id + 1, dim, np.ones((1, dim)), 3)
    with pytest.raises(RuntimeError, match="without holding its lease"):
        store.finish(lease, record.id, 60.0)


@pytest.mark.parametrize(
    "damage", ["bytes appended", "a second writer's copy", "bytes cut", "file deleted"]
)
def test_a_damaged_store_is_found_repaired_with_a_note_and_scores_like_a_clean_one(
    clap, tmp_path: Path, vod: Path, clean: np.ndarray, damage: str
) -> None:
    store = Store(tmp_path)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    expected = highlights(clap, store, record)
    path = store.vectors_dir / f"{record.id}.f32"
    data = path.read_bytes()
    if damage == "bytes appended":
        path.write_bytes(data + b"\x01" * 100)
    elif damage == "a second writer's copy":  # what two unleased writers left (issue 13)
        path.write_bytes(data[:256] + data[:256] + data[256:] + data[256:])
    elif damage == "bytes cut":  # into the 9th vector: the 8 before it are kept
        path.write_bytes(data[: 8 * clap.embedding_dim * 4 + 50])
    else:
        path.unlink()

    damaged = store.analysis(record.id)
    assert damaged == record  # the record alone does not tell
    assert "do not match its record" in (store.check(damaged) or "")
    with pytest.raises(StoreError, match="analyse it again to repair it"):
        store.vectors(damaged)  # never scored as it is

    notes: list[str] = []
    embedded: list[int] = []
    embed_audio = clap.embed_audio

    def counting(waveforms):
        embedded.append(len(waveforms))
        return embed_audio(waveforms)

    clap.embed_audio = counting  # the real model, counted
    try:
        repaired = embed_source(clap, store, source, source_identity(source), on_note=notes.append)
    finally:
        del clap.embed_audio
    assert len(notes) == 1 and notes[0].startswith("The stored vectors of short "), notes
    kept = {"bytes appended": 0, "a second writer's copy": 0, "bytes cut": 8, "file deleted": 0}
    assert sum(embedded) == N_WINDOWS - kept[damage]
    assert repaired.complete and repaired.n_done == N_WINDOWS and store.check(repaired) is None
    assert path.stat().st_size == N_WINDOWS * clap.embedding_dim * 4
    np.testing.assert_array_equal(store.vectors(repaired), clean)
    assert highlights(clap, store, repaired) == expected
    assert [h[0] for h in expected] == LABELS


def test_a_second_caller_follows_the_holder_then_returns_its_result(
    clap, tmp_path: Path, vod: Path, clean: np.ndarray
) -> None:
    store = Store(tmp_path)
    source = open_source(str(vod))
    record = store.open_analysis(
        source, source_identity(source), clap.name, 10.0, 5.0, clap.embedding_dim
    )
    holder = store.lease(record.id)
    assert holder is not None
    with pytest.raises(BusyError) as busy:
        embed_source(clap, store, source, source_identity(source), wait=False)
    assert str(busy.value) == (
        "Another process is analysing this VOD; wait for it to finish, or run again later."
    )
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="Stopped waiting"):
        embed_source(clap, store, source, source_identity(source), cancel=stop)

    # A waiter reports the holder's batches as they land, then takes over when it lets go.
    reports: list[Progress] = []
    notes: list[str] = []
    result = []
    waiter = threading.Thread(
        target=lambda: result.append(
            embed_source(
                clap,
                store,
                source,
                source_identity(source),
                progress=reports.append,
                on_note=notes.append,
            )
        )
    )
    waiter.start()
    deadline = time.monotonic() + 10
    while not reports and time.monotonic() < deadline:
        time.sleep(0.05)
    # A whole first batch (of 8, as the clean run's), so the rest is batched as it was.
    store.append(holder, record.id, clap.embedding_dim, clean[:8], 8)
    while reports[-1].message != "8/11 windows by another process":
        assert time.monotonic() < deadline, reports
        time.sleep(0.05)
    holder.release()  # as if the holder died after its first batch
    waiter.join(timeout=60)
    assert not waiter.is_alive()
    assert notes == ["Another process is analysing this VOD; following its progress."]
    assert [r.stage for r in reports][:2] == ["wait", "wait"] and reports[-1].stage == "embed"
    assert reports[0].message == "0/11 windows by another process"
    assert reports[-1].message.startswith("11/11 windows")  # only the last 3 embedded here
    (done,) = result
    assert done.complete and done.n_done == N_WINDOWS
    np.testing.assert_array_equal(store.vectors(done), clean)
