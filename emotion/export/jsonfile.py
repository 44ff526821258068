"""``highlights.json``: everything the analysis found, for scripts and for reloading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotion.analysis import Analysis
from emotion.export.timefmt import by_start

TIME_DECIMALS = 3  # milliseconds
SCORE_DECIMALS = 4


def _t(seconds: float) -> float:
    return round(float(seconds), TIME_DECIMALS)


def _p(score: float) -> float:
    return round(float(score), SCORE_DECIMALS)


def to_dict(analysis: Analysis) -> dict[str, Any]:
    """The JSON document as plain Python values (floats rounded: times to ms, scores to 4 places)."""
    source = analysis.source
    where = {"url": source.url} if source.url else {"path": str(source.path.resolve())}
    duration_s = _t(source.duration_s) if source.duration_s is not None else None
    scores = analysis.scores
    return {
        "source": {"title": source.title, **where, "duration_s": duration_s},
        "model": analysis.model,
        "window_s": _t(analysis.window_s),
        "hop_s": _t(analysis.hop_s),
        "labels": list(analysis.labels),
        "background": list(analysis.background),
        "template": analysis.template,
        "highlights": [
            {
                "label": h.label,
                "start_s": _t(h.start_s),
                "end_s": _t(h.end_s),
                "peak_s": _t(h.peak_s),
                "score": _p(h.score),
            }
            for h in by_start(analysis.highlights)
        ],
        "timeline": {
            "start_s": [_t(s) for s in analysis.window_starts_s],
            "scores": {
                prompt: [_p(s) for s in scores[:, j]] for j, prompt in enumerate(analysis.prompts)
            },
        },
    }


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.json``; nothing to report."""
    with path.open("w", encoding="utf-8") as f:
        json.dump(to_dict(analysis), f, ensure_ascii=False, indent=1, allow_nan=False)
        f.write("\n")
    return []
