"""What a user chooses for the posts, checked: ``ShortSettings`` (a short's layout, longest
length, crop window, face cam, title, encoder) and ``ReelSettings`` (the reel's length, its
moments' spacing, its encoder), each refusal a ``ShortsError`` or ``ReelError`` naming the
setting to change; ``parse_length_s`` reads a length as the CLI and the API take it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emotion.clock import parse_clock
from emotion.errors import ReelError, ShortsError
from emotion.export.ffmpeg_tools import ENCODER_OPTIONS

LAYOUTS = ("blur", "crop", "split")
MIN_SHORT_S = 3.0
MAX_SHORT_S = 180.0  # YouTube's limit for a Short
DEFAULT_MAX_S = 60.0
TITLE_FIELDS = ("label", "time")
DEFAULT_LENGTH_S = 180.0
DEFAULT_SPACING_S = 300.0
MAX_LENGTH_S = 3600.0
MIN_PART_S = MIN_SHORT_S  # a part must outlast the crossfades at both its ends


@dataclass(frozen=True)
class ShortSettings:
    """How shorts look: the layout, the longest one, the crop window, the face cam, the title."""

    layout: str = "blur"
    max_s: float = DEFAULT_MAX_S
    crop_x: float | None = None  # crop: the window's place in the free width, 0..1; None: centre
    facecam: tuple[int, int, int, int] | None = None  # split: x, y, w, h in the video's pixels
    title: str = "{label}"  # {label} and {time}; "" draws none
    encoder: str = "auto"  # auto: the first hardware H.264 encoder that works, else libx264

    def check(self) -> ShortSettings:
        """The settings, or a ``ShortsError`` saying which one to change and how."""
        if self.layout not in LAYOUTS:
            raise ShortsError(
                f"There is no short layout {self.layout!r}; choose {', '.join(LAYOUTS)}.",
                "layout",
            )
        if not MIN_SHORT_S <= self.max_s <= MAX_SHORT_S:
            raise ShortsError(
                f"A short lasts {MIN_SHORT_S:g} to {MAX_SHORT_S:g} s, so its longest length "
                f"must be in that range (60 s is the default), not {self.max_s:g} s.",
                "max_s",
            )
        if self.crop_x is not None and not 0.0 <= self.crop_x <= 1.0:
            raise ShortsError(
                f"The crop position is a fraction of the free width from 0 (left) to 1 "
                f"(right), not {self.crop_x:g}; 0.5 is the centre.",
                "crop_x",
            )
        if self.layout == "split" and self.facecam is None:
            raise ShortsError(
                "The split layout needs the face cam's rectangle (x, y, width, height in the "
                "video's pixels); give it, or use the blur layout.",
                "facecam",
            )
        if self.facecam is not None:
            x, y, w, h = self.facecam
            if x < 0 or y < 0 or w < 2 or h < 2:
                raise ShortsError(
                    f"The face-cam rectangle {x},{y},{w},{h} is not a rectangle in the video; "
                    "give x,y from 0 and a width and height of 2 pixels or more.",
                    "facecam",
                )
        try:
            self.title.format_map(dict.fromkeys(TITLE_FIELDS, ""))
        except (KeyError, ValueError, IndexError):
            raise ShortsError(
                f"The title {self.title!r} can only use {{label}} and {{time}}; write other "
                "braces twice ({{ and }}).",
                "title",
            ) from None
        if self.encoder != "auto" and self.encoder not in ENCODER_OPTIONS:
            raise ShortsError(
                f"Unknown encoder {self.encoder!r}; choose auto or {', '.join(ENCODER_OPTIONS)}.",
                "encoder",
            )
        return self


@dataclass(frozen=True)
class ReelSettings:
    """How long the reel is, how far apart its moments are, and which encoder makes it."""

    length_s: float = DEFAULT_LENGTH_S
    spacing_s: float = DEFAULT_SPACING_S  # at most one moment per this much of the VOD
    encoder: str = "auto"  # as for shorts: the first hardware H.264 encoder, else libx264

    def check(self) -> ReelSettings:
        """The settings, or a ``ReelError`` saying which one to change and how."""
        if not MIN_PART_S <= self.length_s <= MAX_LENGTH_S:
            raise ReelError(
                f"A reel lasts {MIN_PART_S:g} s to {MAX_LENGTH_S / 60:g} minutes, not "
                f"{self.length_s:g} s; give a length in that range (3m is the default).",
                "length_s",
            )
        if not 0.0 <= self.spacing_s <= 24 * 3600:
            raise ReelError(
                f"The spacing between a reel's moments is 0 s or more, not {self.spacing_s:g} s; "
                "5m (the default) keeps at most one moment per 5 minutes of the VOD.",
                "spacing_s",
            )
        if self.encoder != "auto" and self.encoder not in ENCODER_OPTIONS:
            raise ReelError(
                f"Unknown encoder {self.encoder!r}; choose auto or {', '.join(ENCODER_OPTIONS)}.",
                "encoder",
            )
        return self


# ---------------------------------------------------------------------------- lengths

_LENGTH = re.compile(r"^(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s?)?$")


def parse_length_s(text: str) -> float:
    """``"3m"``, ``"180"``, ``"2m30s"``, ``"90s"`` or ``"2:30"`` → seconds."""
    compact = text.strip().lower().replace(" ", "")
    if ":" in compact:
        return parse_clock(compact)
    found = _LENGTH.match(compact)
    if not compact or found is None or not (found["m"] or found["s"]):
        raise ReelError(
            f"{text!r} is not a length; write seconds or minutes, e.g. 180, 3m or 2m30s."
        )
    return float(found["m"] or 0) * 60 + float(found["s"] or 0)


__all__ = ["LAYOUTS", "ReelSettings", "ShortSettings", "parse_length_s"]
