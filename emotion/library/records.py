"""What the library hands out: an analysis's record, a review, and the one key of a review."""

from __future__ import annotations

from dataclasses import dataclass, field

from emotion.media.source import Source


def review_key(label: str, start_s: float) -> tuple[str, float]:
    """How a highlight's review is keyed, everywhere: its label and start to the millisecond."""
    return label, round(start_s, 3)


@dataclass(frozen=True)
class AnalysisRecord:
    id: int
    source: Source
    model: str
    window_s: float
    hop_s: float
    dim: int
    status: str
    n_done: int
    duration_s: float | None
    created: float
    audio_track: int = 1
    nonfinite_s: float = 0.0
    updated: float = 0.0  # changes with every batch and repair: a cache key for the vectors
    precision: str = "fp32"  # what the vectors were computed in (part of the key)
    name: str | None = None  # the user's name for the analysis; None: the source's title
    kind: str = "vod"  # vod | live
    published: float | None = None  # when the stream aired (epoch s), when known
    # The labels it was last scored with: a note for the library list, not the analysis's
    # state, so records compare equal across re-scorings.
    last_labels: tuple[str, ...] = field(default=(), compare=False)

    @property
    def title(self) -> str:
        return self.name or self.source.title

    @property
    def complete(self) -> bool:
        return self.status == "complete"


@dataclass(frozen=True, slots=True)
class Review:
    """A moment the user kept or rejected; ``end_s`` is None when only its start was stored."""

    analysis_id: int
    label: str
    start_s: float
    end_s: float | None
    kept: bool


@dataclass(frozen=True)
class ChatRecord:
    """A chat replay attached to an analysis; ``data`` is ``emotion.chat.stored``'s to read."""

    analysis_id: int
    format: str
    n_messages: int
    attached: float
    data: bytes = field(repr=False)
