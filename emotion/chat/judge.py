"""Chat beside the sound: each highlight's reaction, the rank, and chat spikes as moments.

Chat re-ranks and explains the moments sound found; it invents none unless asked
(``chat_moments``). A highlight's reaction is chat over the highlight's span shifted by the
stream's chat lag, which is estimated by cross-correlating the sound score (the best label's
probability per window) with the messages per window (``estimate_lag_s``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emotion.chat.lag import estimate_lag_s
from emotion.chat.series import ChatSeries, Reaction, chat_spikes, reaction, spikes_without_sound
from emotion.chat.stored import Chat
from emotion.errors import HypelineError
from emotion.scoring.highlights import RELATIVE, Highlight

SOUND, CHAT, BOTH = "sound", "chat", "both"
RANKS = (SOUND, CHAT, BOTH)
CHAT_SPIKE = "chat spike"  # the label of a moment only chat found (``chat_moments``)
# ``both`` weighs the sound score by the chat's rate vs its baseline, square-rooted and kept
# within these bounds: chat ×4 doubles a moment, a dead chat halves it, no more.
FACTOR_MIN, FACTOR_MAX = 0.5, 2.0


@dataclass(frozen=True)
class ChatSummary:
    """What the chat said about an analysis as a whole (``highlights.json``'s "chat")."""

    format: str
    messages: int
    lag_s: float
    rank: str
    series: ChatSeries = field(repr=False, compare=False)  # the timeline lane


def check_rank(rank: str | None) -> None:
    """A rank is one of ``RANKS`` (None: the default)."""
    if rank is not None and rank not in RANKS:
        raise HypelineError(f"Rank highlights by {', '.join(RANKS)}, not {rank!r}.")


def default_rank(rank: str | None, has_chat: bool) -> str:
    """The rank asked for, else ``both`` when there is chat and ``sound`` without."""
    return rank or (BOTH if has_chat else SOUND)


def chat_factor(rate_vs_baseline: float) -> float:
    """``sqrt(rate_vs_baseline)`` kept within ``FACTOR_MIN``…``FACTOR_MAX``."""
    return min(max(math.sqrt(max(rate_vs_baseline, 0.0)), FACTOR_MIN), FACTOR_MAX)


def rank_key(h: Highlight, rank: str, scale: str) -> tuple[float, float, float, str]:
    """Sort key, best first, of a highlight under ``rank``.

    The sound value is what ``top_k`` keeps by without chat: the peak probability, or on the
    relative scale the peak in spreads. ``sound`` ranks by it; ``chat`` by the reaction's
    rate vs the baseline (then sound); ``both`` by sound × ``chat_factor(rate)``. A highlight
    without a reaction counts as ordinary chat (rate 1). Ties go by time, then label.
    """
    sound = h.relative if scale == RELATIVE and h.relative is not None else h.score
    rate = h.chat.rate_vs_baseline if h.chat is not None else 1.0
    if rank == SOUND:
        first, second = sound, 0.0
    elif rank == CHAT:
        first, second = rate, sound
    else:
        first, second = sound * chat_factor(rate), sound
    return -first, -second, h.start_s, h.label


def ranked(highlights: Sequence[Highlight], rank: str, scale: str) -> list[Highlight]:
    """The highlights best first under ``rank``."""
    return sorted(highlights, key=lambda h: rank_key(h, rank, scale))


def chat_lag_s(window_scores: np.ndarray, n_labels: int, chat: Chat, hop_s: float) -> float:
    """The stream's chat lag: the best label's probability per window against the messages."""
    if n_labels == 0 or window_scores.shape[0] == 0:
        return estimate_lag_s(np.zeros(0), np.zeros(0), hop_s)
    sound = window_scores[:, :n_labels].max(axis=1)
    messages = chat.reactions.windows.messages.astype(np.float64)
    return estimate_lag_s(sound, messages, hop_s)


def with_reactions(
    highlights: Sequence[Highlight], series: ChatSeries, lag_s: float
) -> list[Highlight]:
    """Each highlight with chat's reaction to it (one that has a reaction keeps it)."""
    return [
        h
        if h.chat is not None
        else dataclasses.replace(h, chat=reaction(series, h.start_s, h.end_s, lag_s))
        for h in highlights
    ]


def spike_moments(
    series: ChatSeries, sound: Sequence[Highlight], lag_s: float, duration_s: float
) -> list[Highlight]:
    """Chat spikes no sound highlight explains, as ``CHAT_SPIKE`` moments: the spike moved
    back by the lag (where its cause was), scored 0 (no sound behind it)."""
    spikes = spikes_without_sound(chat_spikes(series), [(h.start_s, h.end_s) for h in sound], lag_s)
    moments = []
    for spike in spikes:
        start_s = max(spike.start_s - lag_s, 0.0)
        end_s = min(max(spike.end_s - lag_s, start_s + series.bin_s), duration_s or math.inf)
        if end_s <= start_s:
            continue
        said = Reaction(spike.messages, spike.rate_vs_baseline, spike.top)
        moments.append(Highlight(CHAT_SPIKE, start_s, end_s, start_s, 0.0, chat=said))
    return moments


def judge(
    highlights: Sequence[Highlight],
    window_scores: np.ndarray,
    n_labels: int,
    hop_s: float,
    duration_s: float,
    scale: str,
    chat: Chat,
    rank: str,
    top_k: int | None,
    chat_moments: bool = False,
) -> tuple[list[Highlight], ChatSummary]:
    """Sound's highlights (all of them, before any top-k) judged by chat: each with its
    reaction, the ``top_k`` best under ``rank`` kept, and with ``chat_moments`` the spikes
    without sound added; in time order, with the summary."""
    check_rank(rank)
    series = chat.reactions.series
    lag_s = chat_lag_s(window_scores, n_labels, chat, hop_s)
    judged = with_reactions(highlights, series, lag_s)
    if top_k is not None:
        judged = ranked(judged, rank, scale)[:top_k]
    if chat_moments:
        judged += spike_moments(series, highlights, lag_s, duration_s)
    summary = ChatSummary(chat.format, chat.n_messages, lag_s, rank, series)
    return sorted(judged, key=lambda h: (h.start_s, h.label)), summary
