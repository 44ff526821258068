"""Prompt presets to start from, and the default colors of prompts (data only).

Both faces share these: the dashboard offers the presets in its prompt editor, and any
face can color prompts the same way. A preset is a starting point; every prompt of it is
editable.
"""

from __future__ import annotations

from dataclasses import dataclass

from emotion.scoring.prompts import DEFAULT_BACKGROUND

# Plotly's default qualitative palette (plotly.colors.qualitative.Plotly), for moments.
PALETTE = (
    "#636EFA",
    "#EF553B",
    "#00CC96",
    "#AB63FA",
    "#FFA15A",
    "#19D3F3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
)
# Greys for background prompts: they are scored, never highlighted, so they stay quiet.
BACKGROUND_PALETTE = ("#9E9E9E", "#7A7A7A", "#BDBDBD", "#5E5E5E", "#D0D0D0")


@dataclass(frozen=True)
class Preset:
    """Moments to find (``labels``) and the ordinary audio around them (``background``)."""

    name: str
    labels: tuple[str, ...]
    background: tuple[str, ...] = ()


PRESETS = (
    Preset(
        "Stream emotions",
        (
            "win celebration",
            "fail frustration",
            "crowd cheering and hype",
            "laughter",
            "jump-scare scream",
        ),
        DEFAULT_BACKGROUND,
    ),
    Preset(
        "Security sounds",
        ("glass breaking", "alarm", "shouting", "explosion"),
        ("normal room noise",),
    ),
    Preset("Instruments", ("piano", "guitar", "violin")),
)
DEFAULT_PRESET = PRESETS[0]


def preset(name: str) -> Preset:
    """The preset called ``name`` (``KeyError`` if there is none)."""
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(name)


def color(index: int, background: bool = False) -> str:
    """The default color of the ``index``-th moment (or background prompt), cycling."""
    palette = BACKGROUND_PALETTE if background else PALETTE
    return palette[index % len(palette)]
