"""The library's SQLite schema: its tables, its version, and how older libraries catch up.

The version is ``PRAGMA user_version``; a library of any earlier version is migrated in
place, in one transaction, by the first process to open it. Rows come back as
``AnalysisRecord``\\s through ``SELECT_RECORD`` and ``to_record``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from emotion.library.records import AnalysisRecord
from emotion.media.source import Source

SCHEMA_VERSION = 6
# Each table's columns and constraints, in one place, so a rebuild makes exactly the table a
# new library has. Analysis ids are AUTOINCREMENT (v4): an id is never given twice, so a page
# or a client holding the id of a deleted analysis cannot open a later, different one.
# Source ids never leave the database (only analyses point at them), so reusing one is harmless.
TABLES = {
    "sources": """
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    path TEXT NOT NULL,
    url TEXT,
    uploader TEXT,
    duration_s REAL,
    has_video INTEGER NOT NULL DEFAULT 0,
    fps REAL,
    created REAL NOT NULL,
    published REAL                   -- when the stream aired (yt-dlp) or the file's mtime, epoch s
""",
    "analyses": """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    model TEXT NOT NULL,
    window_s REAL NOT NULL,
    hop_s REAL NOT NULL,
    dim INTEGER NOT NULL,
    status TEXT NOT NULL,            -- running | complete
    n_done INTEGER NOT NULL DEFAULT 0,
    duration_s REAL,                 -- decoded length, known when complete
    created REAL NOT NULL,
    updated REAL NOT NULL,
    audio_track INTEGER NOT NULL DEFAULT 1,  -- which audio track, numbered from 1
    nonfinite_s REAL NOT NULL DEFAULT 0,     -- decoded NaN/Inf audio, analysed as silence
    precision TEXT NOT NULL DEFAULT 'fp32',  -- what the vectors were computed in
    name TEXT,                               -- the user's name for it (NULL: the source's title)
    kind TEXT NOT NULL DEFAULT 'vod',        -- vod | live
    last_labels TEXT,                        -- the labels it was last scored with, JSON list
    UNIQUE (source_id, audio_track, model, window_s, hop_s, precision)
""",
    "gaps": """
    analysis_id INTEGER NOT NULL REFERENCES analyses(id),
    start_s REAL NOT NULL,           -- stream time with no audio (a live source dropped)
    end_s REAL NOT NULL,
    PRIMARY KEY (analysis_id, start_s)
""",
    "reviews": """
    analysis_id INTEGER NOT NULL REFERENCES analyses(id),
    label TEXT NOT NULL,
    start_s REAL NOT NULL,
    accepted INTEGER NOT NULL,       -- kept (1) or rejected (0)
    end_s REAL,                      -- the reviewed moment's end, when known
    PRIMARY KEY (analysis_id, label, start_s)
""",
    # v5: an analysis's chat replay, parsed once (emotion.chat.stored encodes ``data``); one
    # row per analysis, so attaching another chat replaces it in one statement.
    "chats": """
    analysis_id INTEGER PRIMARY KEY REFERENCES analyses(id),
    format TEXT NOT NULL,            -- emotion.chat.formats.FORMATS
    n_messages INTEGER NOT NULL,     -- messages in the file
    attached REAL NOT NULL,
    data BLOB NOT NULL               -- per-window reactions and the 10 s series
""",
    # v6: a highlight's edges moved by hand (records.Trim), keyed as its review is (the
    # highlight as found: records.review_key), whether or not it was kept or rejected.
    "trims": """
    analysis_id INTEGER NOT NULL REFERENCES analyses(id),
    label TEXT NOT NULL,
    start_s REAL NOT NULL,
    start_shift_s REAL NOT NULL,     -- seconds, negative: earlier (at most records.MAX_TRIM_S)
    end_shift_s REAL NOT NULL,
    PRIMARY KEY (analysis_id, label, start_s)
""",
}
SCHEMA = "".join(f"CREATE TABLE IF NOT EXISTS {t} ({cols});\n" for t, cols in TABLES.items())

# Columns later versions added to tables that keep their key (added in place when missing).
_ADDED_COLUMNS = [
    ("sources", "published", "REAL"),
    ("reviews", "end_s", "REAL"),
    ("analyses", "last_labels", "TEXT"),
]


def use_wal(db: sqlite3.Connection) -> None:
    """Readers never block the writer (and the reverse); the mode stays with the file."""
    (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    if mode != "wal":
        db.execute("PRAGMA journal_mode=WAL")


def migrate(db: sqlite3.Connection) -> None:
    """Bring a library of any earlier version to ``SCHEMA_VERSION`` (new ones are created)."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version < SCHEMA_VERSION:
        had_analyses = bool(db.execute("PRAGMA table_info(analyses)").fetchall())
        for table, column, kind in _ADDED_COLUMNS:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if present and column not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        _create(db)
        if had_analyses and version < 4:
            _rebuild_analyses(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.commit()


def _create(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _rebuild_analyses(db: sqlite3.Connection) -> None:
    """Remake ``analyses`` as a new library has it, keeping every column and row and each id.

    Versions 1 and 2 keyed analyses without the audio track (v1) or the precision, and up to
    version 3 an id was a plain INTEGER PRIMARY KEY, which SQLite gives again once the newest
    row is deleted. Neither a UNIQUE constraint nor AUTOINCREMENT can be altered in SQLite.
    The new table is made beside the old one and renamed into place: renaming the old one
    away would rewrite the ``REFERENCES analyses`` of gaps and reviews to follow it.
    """
    kept = ", ".join(row[1] for row in db.execute("PRAGMA table_info(analyses)"))
    db.execute(f"CREATE TABLE analyses_new ({TABLES['analyses']})")
    db.execute(f"INSERT INTO analyses_new ({kept}) SELECT {kept} FROM analyses")
    db.execute("DROP TABLE analyses")
    db.execute("ALTER TABLE analyses_new RENAME TO analyses")
    # AUTOINCREMENT gives only ids above sqlite_sequence's, so it starts at the highest id the
    # library still knows of: its analyses, or reviews and gaps a crash left behind. An id
    # freed by deleting the newest analysis before this migration left no trace in a v3
    # library; that one id cannot be known here and may be given once more.
    (top,) = db.execute(
        "SELECT MAX(id) FROM (SELECT MAX(id) AS id FROM analyses "
        "UNION ALL SELECT MAX(analysis_id) FROM reviews UNION ALL SELECT MAX(analysis_id) FROM gaps)"
    ).fetchone()
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'analyses'")
    if top is not None:
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('analyses', ?)", (top,))


# An analysis with its source: every ``AnalysisRecord`` is read through this and ``to_record``.
SELECT_RECORD = (
    "SELECT a.*, s.title, s.path, s.url, s.uploader, s.duration_s AS source_duration_s, "
    "s.has_video, s.fps, s.published FROM analyses a JOIN sources s ON s.id = a.source_id"
)


def to_record(row: sqlite3.Row) -> AnalysisRecord:
    """The record of a row of ``SELECT_RECORD``."""
    source = Source(
        path=Path(row["path"]),
        title=row["title"],
        duration_s=row["source_duration_s"],
        url=row["url"],
        uploader=row["uploader"],
        has_video=bool(row["has_video"]),
        fps=row["fps"],
    )
    return AnalysisRecord(
        id=row["id"],
        source=source,
        model=row["model"],
        window_s=row["window_s"],
        hop_s=row["hop_s"],
        dim=row["dim"],
        status=row["status"],
        n_done=row["n_done"],
        duration_s=row["duration_s"],
        created=row["created"],
        audio_track=row["audio_track"],
        nonfinite_s=row["nonfinite_s"],
        updated=row["updated"],
        precision=row["precision"],
        name=row["name"],
        kind=row["kind"],
        published=row["published"],
        last_labels=_labels(row),
    )


def _labels(row: sqlite3.Row) -> tuple[str, ...]:
    text = row["last_labels"] if "last_labels" in row.keys() else None  # noqa: SIM118 (Row)
    return tuple(json.loads(text)) if text else ()
