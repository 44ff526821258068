"""``highlights.json``: everything the analysis found, for scripts and for reloading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotion.analysis import Analysis
from emotion.export.timefmt import by_start, media_duration_s
from emotion.scoring.highlights import Highlight

TIME_DECIMALS = 3  # milliseconds
SCORE_DECIMALS = 4
RATE_DECIMALS = 2  # chat's rate vs its baseline


def _t(seconds: float) -> float:
    return round(float(seconds), TIME_DECIMALS)


def _p(score: float) -> float:
    return round(float(score), SCORE_DECIMALS)


def to_dict(analysis: Analysis) -> dict[str, Any]:
    """The JSON document as plain Python values (floats rounded: times to ms, scores to 4 places)."""
    source = analysis.source
    where = {"url": source.url} if source.url else {"path": str(source.path.resolve())}
    # A download may not say how long it is; the decoded audio then does.
    known_s = media_duration_s(analysis)
    duration_s = _t(known_s) if known_s else None
    scores = analysis.scores
    return {
        "source": {
            "title": source.title,
            **where,
            "duration_s": duration_s,
            "audio_track": analysis.audio_track,
        },
        "model": analysis.model,
        "precision": analysis.precision,
        "window_s": _t(analysis.window_s),
        "hop_s": _t(analysis.hop_s),
        "labels": list(analysis.labels),
        "background": list(analysis.background),
        "template": analysis.template,
        # Audio that decoded to NaN/Inf (a damaged float file), analysed as silence.
        "nonfinite_audio_s": _t(analysis.nonfinite_s),
        **_rules(analysis),
        **_chat(analysis),
        "highlights": [_highlight(h) for h in by_start(analysis.highlights)],
        "timeline": {
            "start_s": [_t(s) for s in analysis.window_starts_s],
            "scores": {
                prompt: [_p(s) for s in scores[:, j]] for j, prompt in enumerate(analysis.prompts)
            },
        },
    }


def _rules(analysis: Analysis) -> dict[str, Any]:
    """The scale the thresholds are in, and the thresholds (when the analysis says)."""
    rules = analysis.rules
    if rules is None:
        return {}
    return {
        "scale": rules.scale,
        "threshold": rules.threshold,
        "thresholds": {label: value for label, value in rules.per_prompt},
    }


def _chat(analysis: Analysis) -> dict[str, Any]:
    """The chat replay beside the sound: its messages, the lag, its format, the rank."""
    chat = analysis.chat
    if chat is None:
        return {}
    return {
        "chat": {
            "messages": chat.messages,
            "lag_s": _t(chat.lag_s),
            "format": chat.format,
            "rank": chat.rank,
        }
    }


def _highlight(h: Highlight) -> dict[str, Any]:
    row: dict[str, Any] = {
        "label": h.label,
        "start_s": _t(h.start_s),
        "end_s": _t(h.end_s),
        "peak_s": _t(h.peak_s),
        "score": _p(h.score),
    }
    if h.usual is not None and h.relative is not None:  # found on a timeline (not by hand)
        row |= {"usual": _p(h.usual), "relative": round(h.relative, 2), "why": h.why()}
    if h.chat is not None:
        row["chat"] = {
            "messages": h.chat.messages,
            "rate_vs_baseline": round(h.chat.rate_vs_baseline, RATE_DECIMALS),
            "top": list(h.chat.top),
        }
    return row


def dumps(doc: dict[str, Any]) -> str:
    """JSON with one line per top-level key and per highlight: readable, and the timeline
    (thousands of numbers on a long VOD) stays on one line instead of one per number."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    lines = []
    for key, value in doc.items():
        if key == "highlights" and value:
            text = "[\n" + ",\n".join(f"  {one(h)}" for h in value) + "\n ]"
        else:
            text = one(value)
        lines.append(f" {one(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.json``; nothing to report."""
    path.write_text(dumps(to_dict(analysis)), encoding="utf-8")
    return []
