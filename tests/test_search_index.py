"""The approximate search index: forced on the fixture library it answers as the exact scan
does, it follows the library (added, deleted, changed by another process), and a broken
index file is rebuilt with a note."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotion import search_index
from emotion.analysis import embed_source
from emotion.lease import try_acquire
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.media.sources import open_source, source_identity
from emotion.search import Query, clip_query, moment_query, search, text_query
from emotion.search_index_files import index_dir
from tests.library import SOUNDS, SR, analysed_library, events_of
from tests.media import write_media
from tests.synth import make_clip, make_vod

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analysed(clap, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return analysed_library(clap, tmp_path_factory)


@pytest.fixture
def library(analysed, tmp_path: Path) -> tuple[Store, dict[str, int]]:
    """A copy of the analysed library of its own (tests change it and write indexes in it)."""
    home, ids = analysed
    shutil.copytree(home, tmp_path / "home")
    return Store(tmp_path / "home"), ids


def same_both_ways(store: Store, query: Query, models: list[str], **kw) -> list:
    """The hits through the index; they must equal the exact scan's."""
    exact = search(store, query, models, index=False, **kw)
    indexed = search(store, query, models, index=True, **kw)
    assert indexed == exact, (indexed[:3], exact[:3])
    return indexed


def test_the_index_answers_as_the_exact_scan(clap, library) -> None:
    store, ids = library
    for sound in SOUNDS:
        hits = same_both_ways(store, text_query(clap, sound), [clap.name], top=5)
        assert hits and any(
            hits[0].analysis_id == aid and start_s - 10 < hits[0].best_start_s < end_s
            for aid, start_s, end_s in events_of(sound, ids)
        ), (sound, hits[:2])
    clip = make_clip("a siren", 8.0, SR, np.random.default_rng(5))
    same_both_ways(store, clip_query(clap, clip), [clap.name], top=6)
    moment = moment_query(store, ids["Monday Stream"], 20.0)  # its own windows left out
    hits = same_both_ways(store, moment, [clap.name], top=5)
    assert all(
        h.best_start_s not in (15.0, 20.0, 25.0) for h in hits if h.analysis_id == moment.exclude[0]
    )
    whistle = text_query(clap, "a whistle")
    same_both_ways(store, whistle, [clap.name], top=200, min_score=-1.0)
    same_both_ways(store, whistle, [clap.name], top=5, analysis_ids=[ids["Friday Stream"]])
    status = search_index.status(store, clap.name)
    assert status is not None
    assert (status.n_analyses, status.n_windows, status.n_lists) == (3, 69, 1)
    assert status.bytes > 0 and status.path.parent == store.home / "index"


def test_small_libraries_keep_the_exact_scan(clap, library) -> None:
    store, _ = library
    search(store, text_query(clap, "a siren"), [clap.name], top=3)  # index=None: 69 windows
    assert search_index.status(store, clap.name) is None
    assert not (store.home / "index").exists()


def test_an_added_analysis_is_found_and_then_indexed(clap, library, tmp_path: Path) -> None:
    store, _ = library
    query = text_query(clap, "a low hum")
    search_index.update(store, clap.name)
    audio = make_vod([("a low hum", 20.0, 35.0)], 60.0, SR, np.random.default_rng(7))
    source = open_source(write_media(tmp_path / "Saturday Stream.flac", audio, SR))
    added = embed_source(clap, store, source, source_identity(source))
    # not in the index yet (fewer than PENDING_MAX_WINDOWS windows): scanned beside it
    coverage = search_index.coverage(store, clap.name, added.dim, store.analyses())
    assert added.id not in coverage.covered and len(coverage.covered) == 3
    hits = same_both_ways(store, query, [clap.name], top=5)
    assert added.id in {h.analysis_id for h in hits[:2]}
    seen = []
    status = search_index.update(store, clap.name, progress=seen.append)
    assert status is not None and (status.n_analyses, status.n_windows) == (4, 69 + added.n_done)
    assert seen and seen[-1].stage == "index" and seen[-1].fraction == 1.0
    coverage = search_index.coverage(store, clap.name, added.dim, store.analyses())
    assert added.id in coverage.covered  # now the index itself answers for it
    assert same_both_ways(store, query, [clap.name], top=5) == hits


def test_a_deleted_analysis_never_comes_back(clap, library, monkeypatch) -> None:
    store, ids = library
    query = text_query(clap, "a siren")
    before = same_both_ways(store, query, [clap.name], top=10)
    assert ids["Friday Stream"] in {h.analysis_id for h in before}
    store.delete(ids["Friday Stream"])
    after = same_both_ways(store, query, [clap.name], top=10)  # filtered out at once
    assert after and ids["Friday Stream"] not in {h.analysis_id for h in after}
    assert search_index.status(store, clap.name).n_analyses == 3  # not rewritten for 23 windows
    monkeypatch.setattr(search_index, "PENDING_MAX_WINDOWS", 0)
    assert same_both_ways(store, query, [clap.name], top=10) == after
    status = search_index.status(store, clap.name)
    assert (status.n_analyses, status.n_windows) == (2, 46)  # its windows removed from the file


def test_a_library_changed_by_another_process(clap, library) -> None:
    store, ids = library
    query = text_query(clap, "a whistle")
    search_index.update(store, clap.name)
    assert ids["Monday Stream"] in {
        h.analysis_id for h in search(store, query, [clap.name], top=5, index=True)
    }
    # Another process deletes Monday and writes the index again; this one holds the old
    # index in memory and must notice both.
    script = (
        "import sys; from pathlib import Path; from emotion.library.store import Store; "
        "from emotion import search_index; s = Store(Path(sys.argv[1])); "
        "s.delete(int(sys.argv[2])); print(search_index.update(s, sys.argv[3]).n_analyses)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(store.home), str(ids["Monday Stream"]), clap.name],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2"]
    hits = same_both_ways(store, query, [clap.name], top=5)
    assert ids["Monday Stream"] not in {h.analysis_id for h in hits}
    coverage = search_index.coverage(store, clap.name, 32, store.analyses())
    assert set(coverage.covered) == {ids["Tuesday Stream"], ids["Friday Stream"]}
    assert coverage.n_indexed == 46  # the other process's file, read again


def test_another_store_changing_an_analysis_is_detected(clap, library) -> None:
    store, ids = library
    query = text_query(clap, "clicking")
    search_index.update(store, clap.name)
    other = Store(store.home)  # e.g. a dashboard beside this CLI
    tuesday = other.analysis(ids["Tuesday Stream"])
    lease = other.lease(tuesday.id)
    assert lease is not None
    with lease:  # vectors lost, then repaired: the analysis runs again from row 10
        with open(other.vectors_dir / f"{tuesday.id}.f32", "r+b") as f:
            f.truncate(10 * tuesday.dim * 4)
        other.repair(lease, tuesday.id)
    changed = store.analysis(tuesday.id)
    assert not changed.complete and changed.n_done == 10
    coverage = search_index.coverage(store, clap.name, 32, store.analyses())
    assert tuesday.id not in coverage.covered  # its indexed rows no longer count
    hits = same_both_ways(store, query, [clap.name], top=5)
    assert all(h.best_start_s < 10 * 5.0 for h in hits if h.analysis_id == tuesday.id)


@pytest.mark.parametrize("broken", ["index", "manifest"])
def test_a_corrupt_index_is_rebuilt_with_a_note(clap, library, broken: str) -> None:
    store, _ = library
    query = text_query(clap, "hissing")
    status = search_index.update(store, clap.name)
    folder = status.path
    (index_file,) = folder.glob("index-*.faiss")
    if broken == "index":
        index_file.write_bytes(b"not an index" * 100)
        search_index._indexes.clear()  # a process starting now
    else:
        (folder / "manifest.json").write_text('{"format": 1, "model": ')
    notes: list[str] = []
    hits = search(store, query, [clap.name], top=5, index=True, on_note=notes.append)
    assert hits == search(store, query, [clap.name], top=5, index=False)
    assert len(notes) == 1 and notes[0].startswith(f"The search index of {clap.name} could not")
    assert notes[0].endswith("; rebuilding it.")
    rebuilt = search_index.status(store, clap.name)
    assert rebuilt is not None and rebuilt.n_windows == 69
    assert [p.name for p in folder.glob("index-*.faiss")] != [index_file.name]
    json.loads((folder / "manifest.json").read_text())  # whole again


def test_a_busy_index_writer_leaves_the_search_exact(clap, library) -> None:
    store, _ = library
    query = text_query(clap, "rumbling")
    folder = index_dir(store.home, clap.name)
    folder.mkdir(parents=True)
    lease = try_acquire(folder / "index.lock")  # another process is writing it
    assert lease is not None
    with lease:
        hits = same_both_ways(store, query, [clap.name], top=5)
        assert search_index.status(store, clap.name) is None
        assert search_index.update(store, clap.name) is None
    assert search(store, query, [clap.name], top=5, index=True) == hits
    assert search_index.status(store, clap.name) is not None


def _clustered(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    """Scenes of a few windows around a centre, drifting: vectors with structure."""
    which = np.repeat(rng.integers(len(centres), size=n), rng.integers(2, 12, size=n))[:n]
    x = centres[which] + 0.35 * rng.standard_normal((n, centres.shape[1])) / 8
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_on_a_larger_library_hits_are_exact_and_recall_is_high(tmp_path: Path, monkeypatch) -> None:
    """20 VODs × 1,000 windows of 64-number vectors, probed narrowly so that the index
    really is approximate: the scores are still the exact cosines of the stored vectors."""
    monkeypatch.setattr(search_index, "NPROBE", 8)
    monkeypatch.setattr(search_index, "MIN_CANDIDATES", 256)
    monkeypatch.setattr(search_index, "CANDIDATE_FACTOR", 2)
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((64, 64)) + 2.0 * rng.standard_normal(64)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    store = Store(tmp_path / "home")
    vectors = {}
    for v in range(20):
        source = Source(path=tmp_path / f"{v}.mp4", title=f"VOD {v}", duration_s=5000.0)
        record = store.open_analysis(source, f"synthetic:{v}", "m64", 10.0, 5.0, 64)
        vectors[record.id] = _clustered(rng, 1000, centres)
        with store.lease(record.id) as lease:
            store.append(lease, record.id, 64, vectors[record.id], 1000)
            store.finish(lease, record.id, 5005.0)
    status = search_index.update(store, "m64")
    assert status is not None and (status.n_windows, status.n_lists) == (20_000, 256)
    recalls = []
    for i in range(10):
        q = centres[i] + 0.5 * rng.standard_normal(64) / 8
        query = Query((q / np.linalg.norm(q)).astype(np.float32), f"q{i}")
        exact = search(store, query, ["m64"], top=10, index=False)
        indexed = search(store, query, ["m64"], top=10, index=True)
        for h in indexed:  # the exact cosine of the stored window, to the last bit
            row = vectors[h.analysis_id][int(h.best_start_s // 5.0)]
            assert h.score == float(np.einsum("j,j->", row, query.vector))
        found = {(h.analysis_id, h.best_start_s) for h in indexed}
        recalls.append(len(found & {(h.analysis_id, h.best_start_s) for h in exact}) / 10)
    assert np.mean(recalls) >= 0.9, recalls
    assert (
        os.path.getsize(next(status.path.glob("index-*.faiss"))) < 20_000 * 64 * 4 / 4
    )  # codes, not vectors


def test_a_batch_updates_the_index_only_when_due(clap, library, monkeypatch) -> None:
    store, ids = library
    assert search_index.update(store, clap.name, only_if_due=True) is None  # 69 windows: none
    assert not (store.home / "index").exists()
    monkeypatch.setattr(search_index, "INDEX_MIN_WINDOWS", 50)
    built = search_index.update(store, clap.name, only_if_due=True)
    assert built is not None and built.n_windows == 69
    store.delete(ids["Monday Stream"])  # 23 windows pending: not yet
    assert search_index.update(store, clap.name, only_if_due=True) == built
    monkeypatch.setattr(search_index, "PENDING_MAX_WINDOWS", 20)
    again = search_index.update(store, clap.name, only_if_due=True)
    assert again is not None and (again.n_analyses, again.n_windows) == (2, 46)
