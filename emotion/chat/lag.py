"""How long after a moment chat answers it: the lag of the highest cross-correlation
between the sound's score and chat's rate, per window of the same grid."""

from __future__ import annotations

import math

import numpy as np

from emotion.errors import HypelineError

# Viewers react 5–20 s after a moment (stream delay + reading + typing); the estimate is
# searched over 0–LAG_SEARCH_S and kept within LAG_MIN_S…LAG_MAX_S.
LAG_MIN_S, LAG_MAX_S, LAG_DEFAULT_S, LAG_SEARCH_S = 3.0, 20.0, 8.0, 30.0
LAG_MIN_CORRELATION = 0.1  # below this peak the chat says nothing about the sound
LAG_DETREND_S = 300.0  # slow swings of chat (a raid, the end of a game) are taken out first


def estimate_lag_s(sound_score: np.ndarray, chat_rate: np.ndarray, hop_s: float) -> float:
    """How long after the sound chat reacts: the lag of the highest cross-correlation.

    Both are per window of the same grid (``hop_s`` apart). The peak is refined between
    windows by a parabola, then kept within ``LAG_MIN_S``…``LAG_MAX_S``; with too little
    signal (a short VOD, a flat score, a silent or unrelated chat) it is ``LAG_DEFAULT_S``.
    """
    if not hop_s > 0:
        raise HypelineError("The hop must be a positive number of seconds.")
    n = min(len(sound_score), len(chat_rate))
    max_lag = math.ceil(LAG_SEARCH_S / hop_s)
    if n < max_lag + max(20, 2 * max_lag):
        return LAG_DEFAULT_S
    sound = _detrended(np.asarray(sound_score[:n], dtype=np.float64), hop_s)
    chat = _detrended(np.asarray(chat_rate[:n], dtype=np.float64), hop_s)
    correlation = np.full(max_lag + 1, -np.inf)
    for lag in range(max_lag + 1):
        a, b = sound[: n - lag], chat[lag:]
        spread = a.std() * b.std()
        if spread > 1e-12:
            correlation[lag] = float(((a - a.mean()) * (b - b.mean())).mean() / spread)
    best = int(np.argmax(correlation))
    if not correlation[best] >= LAG_MIN_CORRELATION:
        return LAG_DEFAULT_S
    offset = 0.0
    if 0 < best < max_lag and np.isfinite(correlation[best - 1 : best + 2]).all():
        left, mid, right = correlation[best - 1 : best + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            offset = 0.5 * (left - right) / curvature
    return float(min(max((best + offset) * hop_s, LAG_MIN_S), LAG_MAX_S))


def _detrended(values: np.ndarray, hop_s: float) -> np.ndarray:
    """``values`` less their moving mean over ``LAG_DETREND_S`` (when the VOD is longer)."""
    width = round(LAG_DETREND_S / hop_s)
    if width < 3 or values.size < 2 * width:
        return values
    kernel = np.ones(width) / width
    padded = np.pad(values, width // 2, mode="edge")
    trend = np.convolve(padded, kernel, mode="same")[width // 2 : width // 2 + values.size]
    return values - trend
