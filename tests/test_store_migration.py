"""A library written by an earlier version opens, migrated in place, with nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from emotion.library.schema import SCHEMA_VERSION
from emotion.library.store import Store

# The schema of version 1 (before analyses were keyed by audio track), as it shipped.
V1 = """
CREATE TABLE sources (id INTEGER PRIMARY KEY, identity TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, path TEXT NOT NULL, url TEXT, uploader TEXT, duration_s REAL,
    has_video INTEGER NOT NULL DEFAULT 0, fps REAL, created REAL NOT NULL);
CREATE TABLE analyses (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id),
    model TEXT NOT NULL, window_s REAL NOT NULL, hop_s REAL NOT NULL, dim INTEGER NOT NULL,
    status TEXT NOT NULL, n_done INTEGER NOT NULL DEFAULT 0, duration_s REAL,
    created REAL NOT NULL, updated REAL NOT NULL, UNIQUE (source_id, model, window_s, hop_s));
CREATE TABLE reviews (analysis_id INTEGER NOT NULL REFERENCES analyses(id), label TEXT NOT NULL,
    start_s REAL NOT NULL, accepted INTEGER NOT NULL, PRIMARY KEY (analysis_id, label, start_s));
"""


def test_a_version_1_library_is_migrated_in_place(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        db.executescript(V1)
        db.execute(
            "INSERT INTO sources VALUES (1, 'sha256:ab', 'Old VOD', '/v.mp4', NULL, NULL, "
            "90.0, 1, 25.0, 0)"
        )
        db.execute(
            "INSERT INTO analyses VALUES (7, 1, 'laion/clap-htsat-fused', 10, 5, 512, "
            "'complete', 17, 90.0, 1, 2)"
        )
        db.execute("INSERT INTO reviews VALUES (7, 'laughter', 25.0, 1)")
    store = Store(tmp_path)
    (record,) = store.analyses()
    assert (record.id, record.source.title, record.n_done, record.duration_s) == (
        7,
        "Old VOD",
        17,
        90.0,
    )
    assert record.audio_track == 1 and record.nonfinite_s == 0.0 and record.complete
    assert store.reviews(7) == {("laughter", 25.0): True}
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # A second track of the same VOD is a second analysis, next to the migrated one.
    second = store.open_analysis(record.source, "sha256:ab", record.model, 10, 5, 512, 2)
    assert second.id != 7 and second.audio_track == 2 and len(store.analyses()) == 2
    assert Store(tmp_path).analyses()[-1].id == 7  # opening again migrates nothing twice


# Version 2 (analyses keyed by audio track, not yet by precision), as it shipped.
V2_ANALYSES = """
CREATE TABLE analyses (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id),
    model TEXT NOT NULL, window_s REAL NOT NULL, hop_s REAL NOT NULL, dim INTEGER NOT NULL,
    status TEXT NOT NULL, n_done INTEGER NOT NULL DEFAULT 0, duration_s REAL,
    created REAL NOT NULL, updated REAL NOT NULL, audio_track INTEGER NOT NULL DEFAULT 1,
    nonfinite_s REAL NOT NULL DEFAULT 0,
    UNIQUE (source_id, audio_track, model, window_s, hop_s));
"""


def test_a_version_2_library_gains_precision_names_and_dates(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "library.sqlite") as db:
        db.executescript(
            V1.split("CREATE TABLE analyses")[0]
            + V2_ANALYSES
            + "CREATE TABLE reviews"
            + V1.split("CREATE TABLE reviews")[1]
        )
        db.execute(
            "INSERT INTO sources VALUES (1, 'sha256:ab', 'Old VOD', '/v.mp4', NULL, NULL, "
            "90.0, 1, 25.0, 0)"
        )
        db.execute(
            "INSERT INTO analyses VALUES (7, 1, 'm', 10, 5, 512, 'complete', 17, 90.0, "
            "1, 2, 2, 1.5)"
        )
        db.execute("PRAGMA user_version = 2")
    store = Store(tmp_path)
    (record,) = store.analyses()
    assert (record.id, record.audio_track, record.nonfinite_s, record.n_done) == (7, 2, 1.5, 17)
    assert (record.precision, record.kind, record.name, record.published) == (
        "fp32",
        "vod",
        None,
        None,
    )
    assert record.title == "Old VOD"
    # The same key in another precision is another analysis; the same precision is this one.
    args = (record.source, "sha256:ab", "m", 10, 5, 512, 2)
    assert store.open_analysis(*args).id == 7
    assert store.open_analysis(*args, precision="int8").id != 7
