"""Learning from the streamer's picks: a training-free few-shot adapter per label.

For each label with at least ``MIN_KEPT`` kept moments, the stored embeddings of its kept
and rejected moments (across the whole library) form a cache, as in Tip-Adapter (Zhang et
al., 2022). A window's logit for that label becomes::

    zero-shot logit + alpha · (mean_k exp(-beta·(1 - cos(x, kept_k)))
                               - mean_r exp(-beta·(1 - cos(x, rejected_r))))

The means keep ``alpha`` in logit units whatever the number of picks. ``alpha`` and
``beta`` are chosen per label by leave-one-out over its picks: each pick is scored by a
cache of the others, the picks are ranked, and the grid point with the best precision
(then the best log-loss, then the smallest ``alpha``) wins. ``alpha = 0`` is on the grid,
so a label whose picks do not help stays zero-shot. Everything is arithmetic on stored
vectors: no audio, no gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emotion.errors import LabelError
from emotion.library.records import AnalysisRecord, Review
from emotion.library.store import Store
from emotion.scoring.prompts import DEFAULT_TEMPLATE, prompts_for, softmax, softmax_heard

if TYPE_CHECKING:  # the model module imports torch (seconds); vectors need no model
    from emotion.model.clap import Clap

MIN_KEPT = 2  # fewer kept moments than this: the label stays zero-shot
ALPHAS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # added logits at full agreement
BETAS = (3.0, 5.5, 10.0, 20.0)  # sharpness of the kernel (5.5: Tip-Adapter's default)


@dataclass(frozen=True)
class Example:
    """A kept or rejected moment: its embedding and where it came from."""

    label: str
    kept: bool
    vector: np.ndarray  # unit vector, the mean direction of the moment's windows
    title: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    analysis_id: int | None = None


@dataclass(frozen=True)
class LabelCache:
    """One label's cache and the weights leave-one-out chose for it."""

    label: str
    kept: np.ndarray  # [n_kept, dim]
    rejected: np.ndarray  # [n_rejected, dim]
    alpha: float
    beta: float
    before: float  # leave-one-out precision of the picks, zero-shot
    after: float  # … and with the cache of the other picks

    def vote(self, vectors: np.ndarray) -> np.ndarray:
        """``alpha ·`` (kept kernel mean − rejected kernel mean) for each row of ``vectors``."""
        return self.alpha * _vote(vectors, self.kept, self.rejected, self.beta)


@dataclass(frozen=True)
class LabelReport:
    """What the page shows for a label: its picks and leave-one-out precision."""

    label: str
    n_kept: int
    n_rejected: int
    before: float | None  # None: too few kept moments to learn from
    after: float | None
    alpha: float = 0.0
    beta: float = 0.0


@dataclass
class Adapter:
    """Caches per label (casefolded), for one model's embeddings."""

    model: str
    caches: dict[str, LabelCache] = field(default_factory=dict)
    reports: list[LabelReport] = field(default_factory=list)

    def logits(
        self, vectors: np.ndarray, text: np.ndarray, logit_scale: float, prompts: Sequence[str]
    ) -> np.ndarray:
        """``[n, len(prompts)]`` zero-shot logits plus each learned label's vote."""
        logits = logit_scale * (vectors.astype(np.float64) @ text.astype(np.float64).T)
        for j, prompt in enumerate(prompts):
            cache = self.caches.get(prompt.casefold())
            if cache is not None and cache.alpha > 0:
                logits[:, j] += cache.vote(vectors)
        return logits

    def probabilities(
        self, vectors: np.ndarray, text: np.ndarray, logit_scale: float, prompts: Sequence[str]
    ) -> np.ndarray:
        """Softmax over the prompts of the adapted logits (rows sum to 1; windows with no
        audio, zero vectors, are all 0 as in ``zero_shot_probabilities``)."""
        return softmax_heard(self.logits(vectors, text, logit_scale, prompts), vectors)

    def check_model(self, model: str) -> None:
        if self.caches and model != self.model:
            raise LabelError(
                f"The learned picks were made with the model {self.model!r}, not {model!r}; "
                "use that model, or learn again from picks made with this one."
            )


def moment_vector(
    vectors: np.ndarray, window_s: float, hop_s: float, start_s: float, end_s: float | None
) -> np.ndarray:
    """The unit mean of the windows centred inside ``[start_s, end_s]`` (else the nearest)."""
    if vectors.shape[0] == 0:
        raise LabelError("That analysis has no embedded windows yet; analyse it first.")
    end_s = start_s + window_s if end_s is None else max(end_s, start_s)
    mids = np.arange(vectors.shape[0]) * hop_s + window_s / 2
    inside = np.flatnonzero((mids >= start_s) & (mids <= end_s))
    if inside.size == 0:
        inside = np.array([int(np.argmin(np.abs(mids - (start_s + end_s) / 2)))])
    mean = vectors[inside].astype(np.float64).mean(axis=0)
    return mean / (np.linalg.norm(mean) + 1e-12)


def library_examples(
    store: Store, model: str, labels: Iterable[str] | None = None
) -> list[Example]:
    """The kept and rejected moments of ``labels`` (all, if None) over the whole library."""
    wanted = None if labels is None else {label.casefold() for label in labels}
    picks = [p for p in store.all_reviews(model) if wanted is None or p.label.casefold() in wanted]
    by_analysis: dict[int, list[Review]] = {}
    for p in picks:
        by_analysis.setdefault(p.analysis_id, []).append(p)
    examples: list[Example] = []
    for analysis_id, group in by_analysis.items():
        record: AnalysisRecord = store.analysis(analysis_id)
        vectors = store.vectors(record)  # one analysis in memory at a time
        for p in group:
            vector = moment_vector(vectors, record.window_s, record.hop_s, p.start_s, p.end_s)
            end_s = p.end_s if p.end_s is not None else p.start_s + record.window_s
            examples.append(
                Example(
                    p.label,
                    p.kept,
                    vector.astype(np.float32),
                    record.title,
                    p.start_s,
                    end_s,
                    analysis_id,
                )
            )
    return examples


def fit_adapter(
    examples: Sequence[Example],
    text: np.ndarray,
    logit_scale: float,
    prompts: Sequence[str],
    labels: Sequence[str],
    model: str,
) -> Adapter:
    """Caches for ``labels`` from ``examples``, weights chosen by leave-one-out.

    ``text`` holds the embeddings of ``prompts`` (labels, then background, templated as
    when scoring), since the zero-shot part of each pick's score is a softmax over them.
    """
    adapter = Adapter(model)
    for label in labels:
        key = label.casefold()
        mine = [e for e in examples if e.label.casefold() == key]
        kept = [e for e in mine if e.kept]
        rejected = [e for e in mine if not e.kept]
        if len(kept) < MIN_KEPT:
            adapter.reports.append(LabelReport(label, len(kept), len(rejected), None, None))
            continue
        j = [p.casefold() for p in prompts].index(key)
        queries = np.stack([e.vector for e in mine]).astype(np.float64)
        truth = np.array([e.kept for e in mine])
        base = logit_scale * (queries @ text.astype(np.float64).T)
        alpha, beta, before, after = _choose(queries, truth, base, j)
        cache = LabelCache(
            label,
            np.stack([e.vector for e in kept]).astype(np.float32),
            np.stack([e.vector for e in rejected]).astype(np.float32)
            if rejected
            else np.zeros((0, queries.shape[1]), dtype=np.float32),
            alpha,
            beta,
            before,
            after,
        )
        adapter.caches[key] = cache
        adapter.reports.append(
            LabelReport(label, len(kept), len(rejected), before, after, alpha, beta)
        )
    return adapter


def _choose(
    queries: np.ndarray, truth: np.ndarray, base: np.ndarray, j: int
) -> tuple[float, float, float, float]:
    """Grid search: (alpha, beta, precision zero-shot, precision adapted), leave-one-out."""
    n = queries.shape[0]
    cos = queries @ queries.T
    before = _precision(softmax(base)[:, j], truth)
    best: tuple[float, float, float, float] | None = None
    best_key: tuple[float, float, float] | None = None
    for beta in BETAS:
        kernel = np.exp(-beta * (1.0 - cos))
        votes = np.zeros(n)
        for i in range(n):
            others = np.arange(n) != i  # each pick is left out of its own cache
            k_kept = kernel[i, others & truth]
            k_rej = kernel[i, others & ~truth]
            votes[i] = (k_kept.mean() if k_kept.size else 0.0) - (
                k_rej.mean() if k_rej.size else 0.0
            )
        for alpha in ALPHAS:
            logits = base.copy()
            logits[:, j] += alpha * votes
            p = softmax(logits)[:, j]
            precision = _precision(p, truth)
            clipped = np.clip(p, 1e-6, 1 - 1e-6)
            log_loss = -float(np.mean(np.where(truth, np.log(clipped), np.log(1 - clipped))))
            key = (precision, -round(log_loss, 9), -alpha)
            if best_key is None or key > best_key:
                best_key, best = key, (alpha, beta if alpha > 0 else 0.0, before, precision)
    assert best is not None
    return best


def _vote(vectors: np.ndarray, kept: np.ndarray, rejected: np.ndarray, beta: float) -> np.ndarray:
    x = vectors.astype(np.float64)
    vote = np.exp(-beta * (1.0 - x @ kept.astype(np.float64).T)).mean(axis=1)
    if rejected.shape[0]:
        vote -= np.exp(-beta * (1.0 - x @ rejected.astype(np.float64).T)).mean(axis=1)
    return vote


def _precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """Share of kept picks among the ``n_kept`` best-scored (ties: the first in order)."""
    n_kept = int(truth.sum())
    top = np.argsort(-scores, kind="stable")[:n_kept]
    return float(truth[top].mean()) if n_kept else 1.0


def learn(
    store: Store,
    clap: Clap,
    labels: Sequence[str],
    background: Sequence[str] = (),
    template: str = DEFAULT_TEMPLATE,
    extra: Sequence[Example] = (),
) -> Adapter:
    """An adapter for ``labels`` from every pick in the library (and ``extra`` examples)."""
    prompts = [*labels, *background]
    text = clap.embed_text(prompts_for(prompts, template))
    examples = [*library_examples(store, clap.name, labels), *extra]
    return fit_adapter(examples, text, clap.logit_scale, prompts, labels, clap.name)


def describe(report: LabelReport) -> str:
    """One line for a label: its picks and leave-one-out precision before → after."""
    picks = f"{report.n_kept} kept, {report.n_rejected} rejected"
    if report.before is None or report.after is None:
        return f"{report.label}: {picks}; needs {MIN_KEPT} kept moments to learn, stays zero-shot"
    return (
        f"{report.label}: {picks}; leave-one-out precision {report.before:.2f} → {report.after:.2f}"
    )
