"""What the library hands out: an analysis's record, a review, a trim, and the one key of a
review (a trim has the same key)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emotion.errors import HypelineError
from emotion.media.source import Source

MAX_TRIM_S = 15.0  # how far a trim moves either edge of a highlight, earlier or later
MIN_TRIMMED_S = 1.0  # the shortest a trimmed highlight may become


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


@dataclass(frozen=True, slots=True)
class Trim:
    """How far the user moved a highlight's edges: negative is earlier, positive later.

    Stored with the highlight's review key (``Store.set_trim``) and applied in one place,
    ``pipeline_export.for_export``, so every export and every face sees the trimmed times.
    """

    start_shift_s: float = 0.0
    end_shift_s: float = 0.0

    def check(self) -> Trim:
        """The trim, or a ``HypelineError`` when an edge moves more than ``MAX_TRIM_S``."""
        for edge, shift_s in (("start", self.start_shift_s), ("end", self.end_shift_s)):
            if not math.isfinite(shift_s):
                raise HypelineError(
                    f"A trim moves the {edge} by a number of seconds from -{MAX_TRIM_S:g} to "
                    f"+{MAX_TRIM_S:g}; give one."
                )
            if abs(shift_s) > MAX_TRIM_S:
                raise HypelineError(
                    f"A trim moves the {edge} by at most {MAX_TRIM_S:g} s either way, not "
                    f"{shift_s:+g} s; give a shift from -{MAX_TRIM_S:g} to +{MAX_TRIM_S:g}."
                )
        return self

    @property
    def moved(self) -> bool:
        return bool(self.start_shift_s or self.end_shift_s)

    def span(
        self, start_s: float, end_s: float, duration_s: float | None = None
    ) -> tuple[float, float]:
        """The trimmed ``(start_s, end_s)`` of a highlight: inside ``0..duration_s`` and at
        least ``MIN_TRIMMED_S`` long (the end, else the start, gives way), to the millisecond."""
        limit_s = duration_s if duration_s else math.inf
        new_start = min(max(start_s + self.start_shift_s, 0.0), limit_s)
        new_end = min(max(end_s + self.end_shift_s, 0.0), limit_s)
        if new_end - new_start < MIN_TRIMMED_S:
            new_end = min(new_start + MIN_TRIMMED_S, limit_s)
            new_start = max(new_end - MIN_TRIMMED_S, 0.0)
        return round(new_start, 3), round(new_end, 3)

    def check_span(self, start_s: float, end_s: float) -> Trim:
        """The trim, once it leaves the highlight at least ``MIN_TRIMMED_S`` long."""
        self.check()
        length_s = (end_s + self.end_shift_s) - (start_s + self.start_shift_s)
        if length_s < MIN_TRIMMED_S:
            raise HypelineError(
                f"That trim leaves the moment {max(length_s, 0.0):.1f} s long; keep it at least "
                f"{MIN_TRIMMED_S:g} s (move the start earlier or the end later)."
            )
        return self


@dataclass(frozen=True)
class ChatRecord:
    """A chat replay attached to an analysis; ``data`` is ``emotion.chat.stored``'s to read."""

    analysis_id: int
    format: str
    n_messages: int
    attached: float
    data: bytes = field(repr=False)
