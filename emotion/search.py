"""Search the whole library: a text or an example → the best-matching moments of every VOD.

Exact cosine over the stored window embeddings (unit vectors, so a dot product). The
vector files are memory-mapped a block of rows at a time, each block scored and then
unmapped, and only a bounded list of the best windows is kept, so memory does not grow
with the library. A model's library past ``search_index.INDEX_MIN_WINDOWS`` is searched
through its approximate index instead: the index names a few thousand candidates, which
are scored exactly from the stored vectors (the same arithmetic as the scan), so a hit's
score is always the exact cosine. The best windows then become moments: the overlapping
windows of one VOD collapse into one hit that keeps the best score and reports the span
they cover.

Call it from any face::

    hits = search(store, text_query(clap, "a siren"), models=[clap.name], top=20)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotion import search_index
from emotion.clock import clock, parse_clock
from emotion.errors import SearchError
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.media.audio import load_audio
from emotion.progress import ProgressFn
from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_printable, prompts_for
from emotion.search_scan import Candidate, best_windows, indexed_windows

if TYPE_CHECKING:  # the model module imports torch (seconds); vectors need no model
    from emotion.model.clap import Clap

DEFAULT_TOP = 20
MAX_TOP = 1000
# Windows kept per hit asked for before collapsing: a long event fills many windows.
CANDIDATES_PER_HIT = 32
# At most one window in this many is a candidate, so that moments stay moments.
MAX_CANDIDATE_SHARE = 4
# A moment is at most this long: a longer chain of good windows is several moments, each
# grown from its best window, so one hit never swallows the next event.
MAX_MOMENT_S = 30.0
# Hits whose best cosine is below this are left out: below 0 a window is less like the
# query than unrelated sound is. The faces show it and let the user change it.
DEFAULT_MIN_SCORE = 0.0


@dataclass(frozen=True)
class Query:
    """A unit vector to search for, and where it came from (its own moment is left out)."""

    vector: np.ndarray
    description: str
    exclude: tuple[int, float, float] | None = None  # (analysis id, start_s, end_s)


@dataclass(frozen=True)
class Hit:
    """One moment of one analysis: the span of its collapsed windows and their best cosine."""

    analysis_id: int
    title: str
    start_s: float
    end_s: float
    score: float
    best_start_s: float  # where the best window of the moment starts

    def to_dict(self, decimals: int = 4) -> dict[str, object]:
        d = asdict(self)
        d["score"] = round(self.score, decimals)
        return d


def text_query(clap: Clap, text: str, template: str = DEFAULT_TEMPLATE) -> Query:
    """A text, through the prompt template, as the scores read labels."""
    text = " ".join(check_printable(text, "query").split())
    if not text:
        raise SearchError('The query is empty; describe the moment, e.g. "crowd screaming".')
    (prompt,) = prompts_for([text], template)
    clap.check_prompts([prompt], [text])
    return Query(clap.embed_text([prompt])[0], text)


def clip_query(clap: Clap, audio: Path | np.ndarray, name: str | None = None) -> Query:
    """A clip (a file, or mono samples at the model's rate), embedded as ``classify`` does."""
    if isinstance(audio, np.ndarray):
        waveform = np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        description = name or "a clip"
    else:
        waveform = load_audio(Path(audio), clap.sampling_rate)
        description = name or Path(audio).name
    return Query(clap.embed_audio([waveform])[0], f"like {description}")


def moment_query(store: Store, analysis_id: int, at_s: float) -> Query:
    """The stored window of an analysis at ``at_s`` (the window that starts last before it)."""
    record = _record(store, analysis_id)
    if record.n_done == 0:
        raise SearchError(f"{record.title} has no analysed windows yet; finish analysing it.")
    end_s = (record.n_done - 1) * record.hop_s + record.window_s
    if not 0 <= at_s <= end_s:
        raise SearchError(
            f"{clock(at_s, hours=True)} is outside {record.title}, which runs to "
            f"{clock(end_s, hours=True)}; "
            "pick a time inside it."
        )
    row = min(int(at_s // record.hop_s), record.n_done - 1)
    block = store.vector_rows(record, row, row + 1)
    start_s = row * record.hop_s
    vector = np.array(block[0], dtype=np.float32)
    del block
    return Query(
        vector,
        f"like {record.title} at {clock(start_s, hours=True)}",
        exclude=(record.id, start_s, start_s + record.window_s),
    )


def search(
    store: Store,
    query: Query,
    models: Sequence[str],
    analysis_ids: Iterable[int] | None = None,
    since_s: float | None = None,
    until_s: float | None = None,
    top: int = DEFAULT_TOP,
    progress: ProgressFn | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    index: bool | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Hit]:
    """The ``top`` best moments over the analyses made with ``models``, best first.

    ``analysis_ids`` limits the search to those VODs; ``since_s``/``until_s`` (epoch s,
    inclusive) to VODs aired (or, when that is unknown, analysed) in that range; windows
    scoring below ``min_score`` are no part of any moment. ``index``: None uses the
    approximate index when the library searched has ``search_index.INDEX_MIN_WINDOWS``
    windows or more; True always (building it if need be), False never. ``on_note`` hears
    one-line notes (an unreadable index rebuilt).
    """
    if not 1 <= top <= MAX_TOP:
        raise SearchError(f"Ask for between 1 and {MAX_TOP} results, not {top}.")
    library = _library(store)
    records = _searchable(store, library, models, analysis_ids, since_s, until_s)
    records = [r for r in records if r.dim == query.vector.shape[0]]
    total = sum(r.n_done for r in records)
    if index is None:
        index = total >= search_index.INDEX_MIN_WINDOWS
    # Moments are chains of overlapping windows among the best ones; if "the best" reached
    # deep into a small library, whole VODs would chain into one moment.
    cap = max(min(top, total), total // MAX_CANDIDATE_SHARE)
    wanted = min(top * CANDIDATES_PER_HIT, cap)
    while True:
        if index:
            candidates = indexed_windows(
                store, library, records, query, wanted, total, progress, on_note
            )
        else:
            candidates = best_windows(store, records, query, wanted, total, progress)
        above = [c for c in candidates if c[0] >= min_score]
        hits = _collapse(above, {r.id: r for r in records})
        # Few moments from many windows: long events took the room; look further, unless
        # the floor was reached already (nothing further is good enough).
        if len(hits) >= top or wanted >= cap or len(above) < len(candidates):
            return hits[:top]
        wanted = min(wanted * 4, cap)


def searchable(
    store: Store,
    models: Sequence[str],
    analysis_ids: Iterable[int] | None = None,
    since_s: float | None = None,
    until_s: float | None = None,
) -> list[AnalysisRecord]:
    """The analyses a search with these filters reads (unknown ids are an error)."""
    return _searchable(store, store.analyses(), models, analysis_ids, since_s, until_s)


def _searchable(
    store: Store,
    library: Sequence[AnalysisRecord],
    models: Sequence[str],
    analysis_ids: Iterable[int] | None,
    since_s: float | None,
    until_s: float | None,
) -> list[AnalysisRecord]:
    records = [r for r in library if r.model in set(models) and r.n_done > 0]
    if analysis_ids is not None:
        ids = list(dict.fromkeys(analysis_ids))
        for aid in ids:
            _record(store, aid)  # an id not in the library says so
        records = [r for r in records if r.id in set(ids)]
    if since_s is not None:
        records = [r for r in records if aired_s(r) >= since_s]
    if until_s is not None:
        records = [r for r in records if aired_s(r) <= until_s]
    if not records:
        models_text = ", ".join(models)
        raise SearchError(
            f"No analysed VOD made with {models_text} matches; analyse a VOD with this model "
            "first, or widen the filters."
        )
    return records


def aired_s(record: AnalysisRecord) -> float:
    """When the VOD aired (epoch s), else when it was analysed: what date filters compare."""
    return record.published if record.published is not None else record.created


def parse_moment(text: str) -> tuple[int, float]:
    """``ID@h:mm:ss`` (or ``ID@m:ss``, ``ID@seconds``) → (analysis id, seconds)."""
    m = re.fullmatch(r"\s*(\d+)\s*@\s*(\S+)\s*", text)
    if m is None:
        raise SearchError(
            f"{text!r} is not a moment; write the analysis id and a time, e.g. 3@1:23:45."
        )
    return int(m.group(1)), parse_clock(m.group(2))


_listings: dict[Path, tuple[tuple[object, ...], list[AnalysisRecord]]] = {}


def _library(store: Store) -> list[AnalysisRecord]:
    """``store.analyses()``, kept while the library is unchanged: listing a thousand VODs
    costs ~35 ms, most of an indexed search; checking for a change, well under one."""
    version = store.analyses_version()
    cached = _listings.get(store.db_path)
    if cached is not None and cached[0] == version:
        return cached[1]
    library = store.analyses()
    _listings[store.db_path] = (version, library)
    return library


def _record(store: Store, analysis_id: int) -> AnalysisRecord:
    try:
        return store.analysis(analysis_id)
    except KeyError:
        raise SearchError(
            f"There is no analysis {analysis_id} in this library; list the library to see the ids."
        ) from None


def _collapse(candidates: list[Candidate], records: dict[int, AnalysisRecord]) -> list[Hit]:
    """Overlapping windows of one VOD → moments (best score, the span they cover), each at
    most ``MAX_MOMENT_S`` long."""
    by_analysis: dict[int, list[tuple[int, float]]] = {}
    for score, analysis_id, row in candidates:
        by_analysis.setdefault(analysis_id, []).append((row, score))
    hits: list[Hit] = []
    for analysis_id, rows in by_analysis.items():
        record = records[analysis_id]
        rows.sort()
        # Windows overlap when they start less than a window apart.
        overlap = max(1, math.ceil(record.window_s / record.hop_s - 1e-9))
        reach = max(0, math.floor((MAX_MOMENT_S - record.window_s) / record.hop_s + 1e-9))
        hits += [_hit(record, group) for group in _moments(rows, overlap, reach)]
    hits.sort(key=_rank)
    return hits


def _moments(
    rows: list[tuple[int, float]], overlap: int, reach: int
) -> list[list[tuple[int, float]]]:
    """``(row, score)`` sorted by row → groups. The best window not yet in a moment starts
    one, which takes the overlapping windows beside it, the better side first, while its
    first and last rows stay within ``reach`` of each other."""
    taken = [False] * len(rows)
    groups = []
    for seed in sorted(range(len(rows)), key=lambda i: (-rows[i][1], rows[i][0])):
        if taken[seed]:
            continue
        lo = hi = seed
        taken[seed] = True
        while True:
            sides = [
                i
                for i, inner in ((lo - 1, lo), (hi + 1, hi))
                if 0 <= i < len(rows)
                and not taken[i]
                and abs(rows[inner][0] - rows[i][0]) < overlap
                and max(rows[hi][0], rows[i][0]) - min(rows[lo][0], rows[i][0]) <= reach
            ]
            if not sides:
                break
            # the better side; on a tie the nearer to the seed (the moment stays centred)
            step = max(sides, key=lambda i: (rows[i][1], -abs(rows[i][0] - rows[seed][0]), -i))
            taken[step] = True
            lo, hi = min(lo, step), max(hi, step)
        groups.append(rows[lo : hi + 1])
    return groups


def _rank(hit: Hit) -> tuple[float, int, float]:
    return (-hit.score, hit.analysis_id, hit.start_s)  # ties: a stable, deterministic order


def _hit(record: AnalysisRecord, group: list[tuple[int, float]]) -> Hit:
    best_row, best_score = max(group, key=lambda rs: (rs[1], -rs[0]))
    end_s = group[-1][0] * record.hop_s + record.window_s
    if record.duration_s is not None:
        end_s = min(end_s, max(record.duration_s, group[-1][0] * record.hop_s))
    return Hit(
        analysis_id=record.id,
        title=record.title,
        start_s=group[0][0] * record.hop_s,
        end_s=end_s,
        score=best_score,
        best_start_s=best_row * record.hop_s,
    )
