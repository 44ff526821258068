"""Library-wide search on synthetic VODs analysed with the fixture checkpoint."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emotion.clock import parse_clock
from emotion.errors import HypelineError, SearchError
from emotion.library.store import Store
from emotion.search import (
    Hit,
    clip_query,
    moment_query,
    parse_moment,
    search,
    text_query,
)
from tests.library import SOUNDS, SR, analysed_library, events_of
from tests.synth import make_clip


@pytest.fixture(scope="module")
def library(clap, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The analysed synthetic VODs; tests must not change them."""
    return analysed_library(clap, tmp_path_factory)


def inside(hit: Hit, event: tuple[int, float, float], hop_s: float = 5.0) -> bool:
    """The hit is that event: same VOD, its best window overlaps the event by more than half."""
    aid, start_s, end_s = event
    best_end_s = hit.best_start_s + 10.0
    overlap = min(best_end_s, end_s) - max(hit.best_start_s, start_s)
    return hit.analysis_id == aid and overlap > 5.0 and hit.start_s < end_s and hit.end_s > start_s


@pytest.mark.parametrize("sound", SOUNDS)
def test_a_text_query_finds_that_sound_first(clap, library, sound: str) -> None:
    home, ids = library
    hits = search(Store(home), text_query(clap, sound), [clap.name], top=5)
    assert any(inside(hits[0], e) for e in events_of(sound, ids)), (sound, hits[:3])
    assert hits == sorted(hits, key=lambda h: -h.score)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


def test_like_a_clip_finds_that_event_in_every_vod_first(clap, library, tmp_path: Path) -> None:
    home, ids = library
    clip = make_clip("a siren", 8.0, SR, np.random.default_rng(5))
    hits = search(Store(home), clip_query(clap, clip), [clap.name], top=6)
    sirens = events_of("a siren", ids)
    assert len(sirens) == 2
    # Both sirens, in two VODs, come before anything else.
    assert all(any(inside(h, e) for e in sirens) for h in hits[:2]), hits[:3]
    assert {h.analysis_id for h in hits[:2]} == {aid for aid, _, _ in sirens}


def test_like_a_clip_file_equals_like_its_samples(clap, library, tmp_path: Path) -> None:
    from tests.media import write_media

    home, _ = library
    clip = make_clip("hissing", 6.0, SR, np.random.default_rng(6))
    path = write_media(tmp_path / "clip.wav", clip, SR)
    by_file = search(Store(home), clip_query(clap, path), [clap.name], top=3)
    by_samples = search(Store(home), clip_query(clap, clip), [clap.name], top=3)
    assert [(h.analysis_id, h.start_s) for h in by_file] == [
        (h.analysis_id, h.start_s) for h in by_samples
    ]
    assert by_file[0].score == pytest.approx(by_samples[0].score, abs=1e-4)


def test_like_a_stored_moment_finds_the_other_one_not_itself(clap, library) -> None:
    home, ids = library
    store = Store(home)
    monday_whistle = (ids["Monday Stream"], 15.0, 30.0)
    query = moment_query(store, ids["Monday Stream"], 20.0)
    assert query.exclude == (ids["Monday Stream"], 20.0, 30.0)
    hits = search(store, query, [clap.name], top=5)
    (friday_whistle,) = [e for e in events_of("a whistle", ids) if e != monday_whistle]
    assert inside(hits[0], friday_whistle), hits[:3]
    for h in hits:  # the query's own window and those overlapping it are left out
        if h.analysis_id == ids["Monday Stream"]:
            assert h.best_start_s not in (15.0, 20.0, 25.0), h


def test_overlapping_windows_collapse_into_one_moment(clap, library) -> None:
    home, ids = library
    store = Store(home)
    hits = search(store, text_query(clap, "rumbling"), [clap.name], top=20)
    (event,) = events_of("rumbling", ids)
    on_event = [
        h for h in hits if h.analysis_id == event[0] and h.start_s < event[2] and h.end_s > event[1]
    ]
    # Windows start every 5 s and last 10 s: the event's windows are one hit, spanning them.
    assert len(on_event) == 1
    (hit,) = on_event
    assert hit.end_s - hit.start_s > 10.0
    assert hit.start_s <= event[1] + 5.0 and hit.end_s >= event[2] - 5.0
    # No two hits of one VOD overlap: chains of overlapping windows are whole.
    for a in hits:
        for b in hits:
            if a is not b and a.analysis_id == b.analysis_id:
                assert a.end_s <= b.start_s or b.end_s <= a.start_s, (a, b)
    assert len(hits) <= 20


def test_collapse_reports_the_best_window_and_the_span(tmp_path: Path) -> None:
    from emotion.media.source import Source
    from emotion.search import _collapse

    store = Store(tmp_path)
    source = Source(path=tmp_path / "a.wav", title="A", duration_s=60.0)
    one = store.open_analysis(source, "id:a", "m", 10.0, 5.0, 4)
    two = store.open_analysis(source, "id:a", "m", 10.0, 2.5, 4)
    # (score, analysis id, row): rows 3-5 of the first chain (windows start 5 s apart and
    # last 10 s), row 9 stands alone; in the second (2.5 s hop) rows 3 and 6 overlap.
    candidates = [
        (0.8, one.id, 3),
        (0.9, one.id, 4),
        (0.95, one.id, 5),
        (0.5, one.id, 9),
        (0.7, two.id, 3),
        (0.6, two.id, 6),
        (0.4, two.id, 10),
    ]
    hits = _collapse(candidates, {one.id: one, two.id: two})
    assert [(h.analysis_id, h.start_s, h.end_s, h.best_start_s, h.score) for h in hits] == [
        (one.id, 15.0, 35.0, 25.0, 0.95),
        (two.id, 7.5, 25.0, 7.5, 0.7),
        (one.id, 45.0, 55.0, 45.0, 0.5),
        (two.id, 25.0, 35.0, 25.0, 0.4),
    ]


def test_a_long_chain_becomes_moments_of_bounded_length_around_its_peaks(tmp_path: Path) -> None:
    from emotion.media.source import Source
    from emotion.search import MAX_MOMENT_S, _collapse

    store = Store(tmp_path)
    source = Source(path=tmp_path / "a.wav", title="A", duration_s=200.0)
    record = store.open_analysis(source, "id:a", "m", 10.0, 5.0, 4)
    # 0:15-1:40 is one chain of good windows (rows 3-18) with two events in it: a peak at
    # row 4 (0:20) and one at row 13 (1:05). It used to come back as one 0:15-1:40 hit.
    scores = {r: 0.3 for r in range(3, 19)} | {3: 0.5, 4: 0.9, 5: 0.6, 12: 0.55, 13: 0.8, 14: 0.7}
    hits = _collapse([(sc, record.id, r) for r, sc in scores.items()], {record.id: record})
    spans = [(h.start_s, h.end_s, h.best_start_s, h.score) for h in hits]
    assert spans[:2] == [(15.0, 45.0, 20.0, 0.9), (55.0, 85.0, 65.0, 0.8)]
    assert all(h.end_s - h.start_s <= MAX_MOMENT_S for h in hits)
    covered = sorted((h.start_s, h.end_s) for h in hits)
    assert covered[0][0] == 15.0 and covered[-1][1] == 100.0  # every window in one moment
    assert all(a[1] - 10.0 < b[0] + 1e-9 for a, b in itertools.pairwise(covered))


def test_hits_below_the_floor_are_left_out(clap, library) -> None:
    home, _ = library
    store = Store(home)
    query = text_query(clap, "a whistle")
    everything = search(store, query, [clap.name], top=200, min_score=-1.0)
    assert min(h.score for h in everything) < 0.0  # the library has windows unlike a whistle
    floored = search(store, query, [clap.name], top=200)  # DEFAULT_MIN_SCORE = 0.0
    assert floored and all(h.score >= 0.0 for h in floored)
    assert len(floored) < len(everything)
    high = search(store, query, [clap.name], top=200, min_score=0.3)
    assert all(h.score >= 0.3 for h in high) and len(high) <= len(floored)


def test_vod_and_date_filters(clap, library) -> None:
    home, ids = library
    store = Store(home)
    query = text_query(clap, "a siren")
    only = search(store, query, [clap.name], analysis_ids=[ids["Friday Stream"]], top=5)
    assert {h.analysis_id for h in only} == {ids["Friday Stream"]}
    assert inside(only[0], (ids["Friday Stream"], 20.0, 35.0))
    with pytest.raises(SearchError, match="No analysed VOD"):
        search(store, query, [clap.name], since_s=4e9, top=5)
    created = min(r.created for r in store.analyses())
    assert search(store, query, [clap.name], since_s=created - 1, top=1)
    with pytest.raises(SearchError, match="no analysis 999"):
        search(store, query, [clap.name], analysis_ids=[999])
    with pytest.raises(SearchError, match="No analysed VOD made with other-model"):
        search(store, query, ["other-model"])


def test_moment_query_refuses_times_outside_the_vod(library) -> None:
    home, ids = library
    with pytest.raises(SearchError, match="outside Monday Stream"):
        moment_query(Store(home), ids["Monday Stream"], 3600.0)
    with pytest.raises(SearchError, match="no analysis 42"):
        moment_query(Store(home), 42, 1.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1:23:45", 5025.0), ("23:45", 1425.0), ("45", 45.0), ("0:00:07.5", 7.5)],
)
def test_parse_clock(text: str, seconds: float) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["1:75", "a:00", "1::2", "-5", "1:2:3:4", "nan"])
def test_parse_clock_refuses(text: str) -> None:
    with pytest.raises(HypelineError, match="is not a time"):
        parse_clock(text)


def test_parse_moment() -> None:
    assert parse_moment("3@1:02:03") == (3, 3723.0)
    with pytest.raises(SearchError, match="is not a moment"):
        parse_moment("three@1:00")


def test_search_streams_blocks_and_matches_a_full_product(clap, library, monkeypatch) -> None:
    import emotion.search_scan as s

    home, _ = library
    store = Store(home)
    query = text_query(clap, "hissing")
    whole = search(store, query, [clap.name], top=10)
    monkeypatch.setattr(s, "BLOCK_ROWS", 7)  # many small blocks: the same answer
    assert search(store, query, [clap.name], top=10) == whole
    best = max(
        (float(v @ query.vector), r.id, i)
        for r in store.analyses()
        for i, v in enumerate(store.vectors(r))
    )
    assert whole[0].score == pytest.approx(best[0], abs=1e-6)
    assert whole[0].analysis_id == best[1] and whole[0].best_start_s == best[2] * 5.0


def test_text_query_refuses_a_blank_query(clap) -> None:
    with pytest.raises(SearchError, match="empty"):
        text_query(clap, "   ")


def test_search_reads_bounded_blocks_and_reports_progress(clap, library, monkeypatch) -> None:
    import emotion.search_scan as s

    home, _ = library
    store = Store(home)
    read: list[int] = []
    vector_rows = Store.vector_rows

    def counting(self, record, first, stop):
        read.append(stop - first)
        return vector_rows(self, record, first, stop)

    monkeypatch.setattr(Store, "vector_rows", counting)
    monkeypatch.setattr(s, "BLOCK_ROWS", 10)
    seen = []
    search(store, text_query(clap, "clicking"), [clap.name], top=3, progress=seen.append)
    # 3 VODs of 23 windows: blocks of 10, 10 and 3 each, every window read once.
    assert sorted(read) == [3, 3, 3] + [10] * 6
    assert [p.fraction for p in seen][-1] == 1.0 and seen[-1].message == "69/69 windows"
    assert all(p.stage == "search" for p in seen)
