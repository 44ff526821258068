"""The chat timeline series (messages per ``SERIES_BIN_S`` bin) and what is read from it:
ordinary chat's rate (``baseline_rate``), a moment's ``Reaction`` after the lag, and the
spikes where chat ran far above its baseline."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from emotion.chat.lag import LAG_DEFAULT_S

SERIES_BIN_S = 10.0  # a timeline lane's bin
TOP_K = 3  # emotes and keywords named per bin, window or reaction
MIN_BASELINE = 1.0  # messages per bin: a dead chat's baseline, so ratios stay finite
SPIKE_FACTOR = 3.0  # a spike bin has at least this many times the baseline ...
SPIKE_MIN_MESSAGES = 10  # ... and at least this many messages


@dataclass(frozen=True, slots=True, eq=False)
class ChatSeries:
    """Messages per ``bin_s`` bin for a timeline lane, with what they used, and the usual rate."""

    bin_s: float
    messages: np.ndarray  # [n_bins]
    chatters: np.ndarray  # [n_bins]
    tokens: tuple[Mapping[str, int], ...]  # [n_bins] emote or keyword → messages using it
    baseline: float  # messages per bin in ordinary chat (baseline_rate)

    def top(self, index: int, k: int = TOP_K) -> tuple[str, ...]:
        """The ``k`` emotes or keywords most used in bin ``index``."""
        return top_tokens(self.tokens[index], k)


@dataclass(frozen=True, slots=True)
class Reaction:
    """How chat answered a moment, measured after it by the lag."""

    messages: int
    rate_vs_baseline: float
    top: tuple[str, ...]

    def why(self) -> str:
        """The one way a reaction is said: "chat ×4.1, 37 messages, KEKW"."""
        top = f", {', '.join(self.top)}" if self.top else ""
        return f"chat ×{self.rate_vs_baseline:.1f}, {self.messages} messages{top}"


@dataclass(frozen=True, slots=True)
class ChatSpike:
    """Bins in a row where chat ran far above its baseline."""

    start_s: float
    end_s: float
    messages: int
    rate_vs_baseline: float
    top: tuple[str, ...]


def baseline_rate(messages_per_bin: np.ndarray) -> float:
    """Ordinary chat: the median messages per bin between the first and last message.

    The median, not the mean, so that the spikes being looked for do not raise it; the
    silence before chat starts and after it ends is left out. At least ``MIN_BASELINE``.
    """
    active = np.flatnonzero(messages_per_bin)
    if not active.size:
        return MIN_BASELINE
    span = messages_per_bin[active[0] : active[-1] + 1]
    return max(float(np.median(span)), MIN_BASELINE)


def rate_vs_baseline(series: ChatSeries, start_s: float, end_s: float) -> float:
    """Messages per bin over ``[start_s, end_s)`` divided by the baseline (1.0: ordinary)."""
    messages, bins, _ = _span(series, start_s, end_s)
    return messages / bins / series.baseline


def reaction(
    series: ChatSeries, start_s: float, end_s: float, lag_s: float = LAG_DEFAULT_S
) -> Reaction:
    """Chat's answer to the moment ``[start_s, end_s)``: the same span ``lag_s`` later."""
    messages, bins, tokens = _span(series, start_s + lag_s, end_s + lag_s)
    return Reaction(
        messages=round(messages),
        rate_vs_baseline=messages / bins / series.baseline,
        top=top_tokens(tokens, TOP_K),
    )


def chat_spikes(
    series: ChatSeries,
    factor: float = SPIKE_FACTOR,
    min_messages: int = SPIKE_MIN_MESSAGES,
) -> list[ChatSpike]:
    """Runs of bins with at least ``factor`` × the baseline and ``min_messages`` messages."""
    hot = (series.messages >= factor * series.baseline) & (series.messages >= min_messages)
    spikes = []
    index = 0
    while index < hot.size:
        if not hot[index]:
            index += 1
            continue
        end = index
        while end < hot.size and hot[end]:
            end += 1
        spikes.append(_spike(series, index, end))
        index = end
    return spikes


def spikes_without_sound(
    spikes: Iterable[ChatSpike],
    moments: Iterable[tuple[float, float]],
    lag_s: float = LAG_DEFAULT_S,
    slack_s: float = SERIES_BIN_S,
) -> list[ChatSpike]:
    """The spikes that no moment ``(start_s, end_s)``, shifted by the lag, explains."""
    shifted = [(start + lag_s - slack_s, end + lag_s + slack_s) for start, end in moments]
    return [
        spike
        for spike in spikes
        if not any(start < spike.end_s and spike.start_s < end for start, end in shifted)
    ]


def _span(
    series: ChatSeries, start_s: float, end_s: float
) -> tuple[float, float, dict[str, float]]:
    """Messages in ``[start_s, end_s)`` (bins weighted by overlap), its length in bins, tokens."""
    if end_s <= start_s:
        end_s = start_s + series.bin_s
    length_bins = (end_s - start_s) / series.bin_s
    messages = 0.0
    tokens: dict[str, float] = {}
    first = max(0, int(start_s // series.bin_s))
    last = min(len(series.messages), math.ceil(end_s / series.bin_s))
    for i in range(first, last):
        bin_start = i * series.bin_s
        overlap = min(end_s, bin_start + series.bin_s) - max(start_s, bin_start)
        if overlap <= 0:
            continue
        weight = overlap / series.bin_s
        messages += weight * float(series.messages[i])
        for token, count in series.tokens[i].items():
            tokens[token] = tokens.get(token, 0.0) + weight * count
    return messages, length_bins, tokens


def _spike(series: ChatSeries, first: int, end: int) -> ChatSpike:
    tokens: Counter[str] = Counter()
    for i in range(first, end):
        tokens.update(series.tokens[i])
    messages = int(series.messages[first:end].sum())
    return ChatSpike(
        start_s=first * series.bin_s,
        end_s=end * series.bin_s,
        messages=messages,
        rate_vs_baseline=messages / (end - first) / series.baseline,
        top=top_tokens(tokens, TOP_K),
    )


def top_tokens(tokens: Mapping[str, float], k: int) -> tuple[str, ...]:
    """The ``k`` most used, most first; ties by name, so the order is the same every run."""
    return tuple(sorted(tokens, key=lambda t: (-tokens[t], t))[:k])
