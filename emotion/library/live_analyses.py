"""What the library's database keeps of a live analysis (``emotion.live``) beyond a VOD's:
how far it has heard, the gaps in which its source sent no audio, and the ones whose
monitor was killed before it finished.

Functions over one open connection; ``Store`` runs each in its own short transaction,
the writes under the analysis's lease.
"""

from __future__ import annotations

import sqlite3
import time

from emotion.library.records import AnalysisRecord
from emotion.library.schema import SELECT_RECORD, to_record


def set_position(db: sqlite3.Connection, analysis_id: int, stream_s: float) -> None:
    """How far a growing live analysis has heard (its duration so far), in stream time."""
    db.execute(
        "UPDATE analyses SET duration_s = ?, updated = ? WHERE id = ?",
        (stream_s, time.time(), analysis_id),
    )


def add_gap(db: sqlite3.Connection, analysis_id: int, start_s: float, end_s: float) -> None:
    """Stream time in which a live source sent no audio."""
    db.execute(
        "INSERT OR REPLACE INTO gaps (analysis_id, start_s, end_s) VALUES (?, ?, ?)",
        (analysis_id, round(start_s, 3), round(end_s, 3)),
    )


def gaps(db: sqlite3.Connection, analysis_id: int) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of each gap of a live analysis, in order."""
    rows = db.execute(
        "SELECT start_s, end_s FROM gaps WHERE analysis_id = ? ORDER BY start_s",
        (analysis_id,),
    ).fetchall()
    return [(r["start_s"], r["end_s"]) for r in rows]


def running(db: sqlite3.Connection, identity_prefix: str) -> list[AnalysisRecord]:
    """Live analyses whose source identity starts with the prefix and that never finished
    (their monitor was killed), newest first."""
    rows = db.execute(
        SELECT_RECORD + " WHERE a.kind = 'live' AND a.status = 'running' "
        "AND substr(s.identity, 1, length(?)) = ? ORDER BY a.created DESC",
        (identity_prefix, identity_prefix),
    ).fetchall()
    return [to_record(r) for r in rows]
