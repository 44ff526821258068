"""The user's marks on an analysis's moments, in the library's database: reviews (a moment
kept or rejected, by hand or from a search hit) and trims (a highlight's edges moved by
hand), both keyed by ``review_key``.

Functions over one open connection; ``Store`` runs each in its own short transaction.
"""

from __future__ import annotations

import sqlite3

from emotion.library.records import Review, Trim, review_key


def set_review(
    db: sqlite3.Connection,
    analysis_id: int,
    label: str,
    start_s: float,
    kept: bool,
    end_s: float | None = None,
) -> None:
    """Keep or reject the moment of a label starting at ``start_s``; an ``end_s`` of None
    keeps the end stored (a moment kept by hand, a search hit, keeps its span)."""
    end = None if end_s is None else round(end_s, 3)
    db.execute(
        "INSERT INTO reviews (analysis_id, label, start_s, end_s, accepted) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (analysis_id, label, start_s) DO UPDATE "
        "SET accepted = excluded.accepted, end_s = COALESCE(excluded.end_s, end_s)",
        (analysis_id, *review_key(label, start_s), end, int(kept)),
    )


def reviews(db: sqlite3.Connection, analysis_id: int) -> dict[tuple[str, float], bool]:
    """``(label, start_s) → kept`` for the moments of the analysis the user reviewed."""
    rows = db.execute(
        "SELECT label, start_s, accepted FROM reviews WHERE analysis_id = ?",
        (analysis_id,),
    ).fetchall()
    return {(r["label"], r["start_s"]): bool(r["accepted"]) for r in rows}


def kept_moments(db: sqlite3.Connection, analysis_id: int) -> list[tuple[str, float, float]]:
    """``(label, start_s, end_s)`` of the kept reviews whose span is known, in time order."""
    rows = db.execute(
        "SELECT label, start_s, end_s FROM reviews WHERE analysis_id = ? AND accepted "
        "AND end_s IS NOT NULL ORDER BY start_s, label",
        (analysis_id,),
    ).fetchall()
    return [(r["label"], r["start_s"], r["end_s"]) for r in rows]


def all_reviews(db: sqlite3.Connection, model: str | None = None) -> list[Review]:
    """Every reviewed moment in the library (of analyses made with ``model``, if given):
    the picks that learning learns from."""
    query = (
        "SELECT r.analysis_id, r.label, r.start_s, r.end_s, r.accepted FROM reviews r "
        "JOIN analyses a ON a.id = r.analysis_id"
    )
    args: tuple[object, ...] = ()
    if model is not None:
        query += " WHERE a.model = ?"
        args = (model,)
    rows = db.execute(query + " ORDER BY r.analysis_id, r.label, r.start_s", args)
    return [
        Review(r["analysis_id"], r["label"], r["start_s"], r["end_s"], bool(r["accepted"]))
        for r in rows.fetchall()
    ]


def set_trim(
    db: sqlite3.Connection,
    analysis_id: int,
    label: str,
    start_s: float,
    trim: Trim,
    end_s: float | None = None,
) -> None:
    """Move the edges of the highlight of ``label`` found at ``start_s`` (its review key);
    a trim that moves nothing removes the one stored. With the highlight's ``end_s``,
    a trim leaving it shorter than ``MIN_TRIMMED_S`` is refused (a ``HypelineError``)."""
    trim = trim.check() if end_s is None else trim.check_span(start_s, end_s)
    key = (analysis_id, *review_key(label, start_s))
    if not trim.moved:
        db.execute("DELETE FROM trims WHERE analysis_id = ? AND label = ? AND start_s = ?", key)
        return
    db.execute(
        "INSERT INTO trims (analysis_id, label, start_s, start_shift_s, end_shift_s) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (analysis_id, label, start_s) DO UPDATE "
        "SET start_shift_s = excluded.start_shift_s, end_shift_s = excluded.end_shift_s",
        (*key, round(trim.start_shift_s, 3), round(trim.end_shift_s, 3)),
    )


def trims(db: sqlite3.Connection, analysis_id: int) -> dict[tuple[str, float], Trim]:
    """``(label, start_s) → Trim`` for the highlights of the analysis the user trimmed."""
    rows = db.execute(
        "SELECT label, start_s, start_shift_s, end_shift_s FROM trims WHERE analysis_id = ?",
        (analysis_id,),
    ).fetchall()
    return {(r["label"], r["start_s"]): Trim(r["start_shift_s"], r["end_shift_s"]) for r in rows}
