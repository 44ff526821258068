"""Analytics across the library: every analysis of a model, re-scored with given prompts.

Per VOD: the mood mix (minutes and share of the stream each prompt dominates), highlights
per hour, and a row of the heatmap (how strong the moments are along the stream). Over
the library: highlights per hour by stream date, and "best of", the top moments over a
date range. Everything is arithmetic on stored vectors, with the functions
``analysis.score`` uses (so the numbers are the Analyze page's); a few VODs' vectors are in
memory at a time, and what is kept per VOD is a few numbers.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import io
import json
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from emotion.errors import ExportError
from emotion.export.clips import clip_range, clip_suffix, cut, slugify
from emotion.export.timefmt import slug_time
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight, HighlightSettings, cell_timeline, find_highlights
from emotion.scoring.prompts import DEFAULT_TEMPLATE, prompts_for, zero_shot_probabilities

if TYPE_CHECKING:  # the model module imports torch (seconds); vectors need no model
    from emotion.model.clap import Clap
    from emotion.scoring.adapt import Adapter

HEAT_BINS = 20  # columns of the heatmap: the stream in twentieths
BEST_OF = 20
WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Moment:
    """A highlight of the library, with where to find it."""

    analysis_id: int
    title: str
    source: str  # the file, or the page it was downloaded from
    published: float  # epoch s: when it aired, else when it was analysed
    label: str
    start_s: float
    end_s: float
    score: float


@dataclass(frozen=True)
class VodStats:
    analysis_id: int
    title: str
    published: float
    duration_s: float
    minutes: dict[str, float]  # per prompt: the time it dominates (labels and background)
    n_highlights: int
    heat: np.ndarray = field(repr=False)  # [HEAT_BINS] mean of the strongest label's probability

    @property
    def share(self) -> dict[str, float]:
        total = sum(self.minutes.values()) or 1.0
        return {k: v / total for k, v in self.minutes.items()}

    @property
    def highlights_per_hour(self) -> float:
        return self.n_highlights / (self.duration_s / 3600) if self.duration_s > 0 else 0.0

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.published, UTC).strftime("%Y-%m-%d")


@dataclass
class LibraryStats:
    model: str
    labels: list[str]
    background: list[str]
    vods: list[VodStats]  # oldest first
    best: list[Moment]  # best first

    @property
    def heatmap(self) -> np.ndarray:
        """``[n_vods, HEAT_BINS]``, rows in the order of ``vods``."""
        return np.stack([v.heat for v in self.vods]) if self.vods else np.zeros((0, HEAT_BINS))

    def by_date(self) -> list[dict[str, object]]:
        """Hours streamed, highlights and highlights per hour for each stream date."""
        days: dict[str, list[float]] = {}
        for v in self.vods:
            hours, n = days.setdefault(v.date, [0.0, 0.0])
            days[v.date] = [hours + v.duration_s / 3600, n + v.n_highlights]
        return [
            {
                "date": d,
                "hours": round(h, 3),
                "highlights": int(n),
                "per_hour": round(n / h, 3) if h > 0 else 0.0,
            }
            for d, (h, n) in sorted(days.items())
        ]

    def mood_rows(self) -> list[dict[str, object]]:
        """One row per VOD and prompt: minutes and share (what ``stats`` prints)."""
        rows: list[dict[str, object]] = []
        for v in self.vods:
            share = v.share
            for prompt, minutes in v.minutes.items():
                rows.append(
                    {
                        "analysis_id": v.analysis_id,
                        "title": v.title,
                        "date": v.date,
                        "prompt": prompt,
                        "background": prompt in self.background,
                        "minutes": round(minutes, 3),
                        "share": round(share[prompt], 4),
                    }
                )
        return rows

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "labels": self.labels,
            "background": self.background,
            "vods": [
                {
                    "analysis_id": v.analysis_id,
                    "title": v.title,
                    "date": v.date,
                    "duration_s": round(v.duration_s, 3),
                    "minutes": {k: round(m, 3) for k, m in v.minutes.items()},
                    "share": {k: round(s, 4) for k, s in v.share.items()},
                    "highlights": v.n_highlights,
                    "highlights_per_hour": round(v.highlights_per_hour, 3),
                }
                for v in self.vods
            ],
            "by_date": self.by_date(),
            "best": [best_row(m) for m in self.best],
        }


def library_stats(
    store: Store,
    clap: Clap,
    labels: Sequence[str],
    background: Sequence[str] = (),
    template: str = DEFAULT_TEMPLATE,
    settings: HighlightSettings | None = None,
    since: float | None = None,
    until: float | None = None,
    best_of: int = BEST_OF,
    adapter: Adapter | None = None,
    progress: ProgressFn | None = None,
) -> LibraryStats:
    """Re-score every complete analysis of ``clap``'s model aired in ``[since, until)``."""
    settings = settings or HighlightSettings()
    records = [r for r in store.analyses() if r.model == clap.name and r.complete]
    records = [r for r in records if _in_range(_aired(r), since, until)]
    records.sort(key=lambda r: (_aired(r), r.id))
    prompts = [*labels, *background]
    text = clap.embed_text(prompts_for(prompts, template))  # once, before the threads
    if adapter is not None:
        adapter.check_model(clap.name)

    def one(record: AnalysisRecord) -> tuple[VodStats, list[Moment]]:
        vectors = store.vectors(record)
        if adapter is None:
            window_scores = zero_shot_probabilities(vectors, text, clap.logit_scale)
        else:
            window_scores = adapter.probabilities(vectors, text, clap.logit_scale, prompts)
        duration_s = record.duration_s or vectors.shape[0] * record.hop_s
        starts, cells = cell_timeline(window_scores, record.hop_s, record.window_s, duration_s)
        highlights = find_highlights(labels, starts, cells, record.hop_s, duration_s, settings)
        dominant = np.bincount(cells.argmax(axis=1), minlength=len(prompts))
        minutes = {p: float(n) * record.hop_s / 60 for p, n in zip(prompts, dominant, strict=True)}
        heat = _binned(cells[:, : len(labels)].max(axis=1), HEAT_BINS)
        aired = _aired(record)
        source = record.source.url or str(record.source.path)
        stats = VodStats(record.id, record.title, aired, duration_s, minutes, len(highlights), heat)
        return stats, [
            Moment(record.id, record.title, source, aired, h.label, h.start_s, h.end_s, h.score)
            for h in highlights
        ]

    vods: list[VodStats] = []
    best: list[tuple[float, int, Moment]] = []  # a min-heap of the best_of best
    n_seen = 0
    # numpy lets go of the GIL in the products: VODs are scored side by side, in order, at
    # most WORKERS (one VOD's vectors each) in memory at once. Each product on one BLAS
    # thread: the workers already fill the cores, and OpenBLAS's own threads on top of them
    # made a VOD's product 4× slower on two busy cores (5.0 → 1.25 ms; the same bits).
    with _one_blas_thread(), ThreadPoolExecutor(WORKERS) as pool:
        for i, (stats, moments) in enumerate(pool.map(one, records)):
            vods.append(stats)
            for moment in moments:
                n_seen += 1
                item = (moment.score, -n_seen, moment)  # ties: the earlier moment first
                if len(best) < best_of:
                    heapq.heappush(best, item)
                elif item[:2] > best[0][:2]:
                    heapq.heapreplace(best, item)
            if progress is not None:
                progress(Progress("stats", (i + 1) / len(records), f"{i + 1}/{len(records)} VODs"))
    ranked = [m for _, _, m in sorted(best, key=lambda t: (-t[0], -t[1]))]
    return LibraryStats(clap.name, list(labels), list(background), vods, ranked)


def best_row(m: Moment) -> dict[str, object]:
    """The export row of a moment: source, start, end, label, score (and where it aired)."""
    row = asdict(m)
    row["date"] = datetime.fromtimestamp(m.published, UTC).strftime("%Y-%m-%d")
    row["score"] = round(m.score, 4)
    del row["published"]
    return row


def best_csv(moments: Sequence[Moment]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        ["source", "start_s", "end_s", "label", "score", "title", "date", "analysis_id"],
        extrasaction="ignore",
        lineterminator="\n",
    )
    writer.writeheader()
    for m in moments:
        writer.writerow(best_row(m))
    return out.getvalue()


def best_json(moments: Sequence[Moment]) -> str:
    return json.dumps([best_row(m) for m in moments], ensure_ascii=False, indent=1)


def best_clips(
    store: Store,
    moments: Sequence[Moment],
    folder: Path,
    padding_s: float = 1.0,
    progress: ProgressFn | None = None,
) -> list[Path]:
    """Cut each moment into ``folder`` (``01-<title>-<label>-<h-mm-ss>.mp4``), best first."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, m in enumerate(moments, start=1):
        record = store.analysis(m.analysis_id)
        source = record.source
        if not source.path.is_file():
            raise ExportError(
                f"The media file {source.path} of {m.title} is gone, so its clip cannot be "
                "cut; analyse that VOD again or leave it out of the range."
            )
        h = Highlight(m.label, m.start_s, m.end_s, m.start_s, m.score)
        duration_s = record.duration_s or source.duration_s or 0.0
        name = f"{i:02d}-{slugify(m.title, 40)}-{slugify(m.label, 30)}-{slug_time(m.start_s)}"
        out = folder / (name + clip_suffix(source))
        tmp = out.with_name(f".{out.stem}.part{out.suffix}")
        try:
            cut(source, tmp, *clip_range(h, duration_s, padding_s), record.audio_track)
            tmp.replace(out)  # never a half-written clip under the final name
        finally:
            tmp.unlink(missing_ok=True)
        written.append(out)
        if progress is not None:
            progress(Progress("clips", i / len(moments), f"{i}/{len(moments)} clips"))
    return written


def parse_date(text: str) -> float:
    """``YYYY-MM-DD`` (UTC midnight) as epoch seconds; ``ValueError`` otherwise."""
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def _binned(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Means of ``values`` over ``n_bins`` equal stretches (a stretch shorter than one value
    takes the value under it), so VODs of every length line up in the heatmap."""
    n = len(values)
    lo = (np.arange(n_bins) * n) // n_bins
    hi = np.maximum(lo + 1, (np.arange(1, n_bins + 1) * n) // n_bins)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


class _OneBlasThread:
    """numpy's BLAS limited to one thread while any ``library_stats`` runs (process-wide:
    the first in sets the limit, the last out puts back what was there)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._guard:
            if self._users == 0:
                self._limiter = threadpool_limits(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._guard:
                self._users -= 1
                if self._users == 0 and self._limiter is not None:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_one_blas_thread = _OneBlasThread()


def _aired(record: AnalysisRecord) -> float:
    return record.published if record.published is not None else record.created


def _in_range(t: float, since: float | None, until: float | None) -> bool:
    return (since is None or t >= since) and (until is None or t < until)
