"""Figures and tables of the Analytics page (plotly), from ``emotion.analytics`` results."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from emotion.analytics import HEAT_BINS, LibraryStats, best_row
from emotion.clock import clock
from emotion.scoring.adapt import LabelReport
from emotion.scoring.presets import BACKGROUND_PALETTE

LAYOUT = {"margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "height": 320}
TICK_STEPS_S = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
MAX_TICKS = 8


def _names(stats: LibraryStats) -> list[str]:
    """One x label per VOD: date and title (two VODs of a day stay apart)."""
    return [f"{v.date} · {v.title}" for v in stats.vods]


def mood_mix(stats: LibraryStats, colors: Mapping[str, str]) -> go.Figure:
    """Stacked bars: minutes each prompt dominates per VOD; background greyed."""
    fig = go.Figure()
    names = _names(stats)
    for j, prompt in enumerate([*stats.labels, *stats.background]):
        grey = prompt in stats.background
        color = BACKGROUND_PALETTE[j % len(BACKGROUND_PALETTE)] if grey else colors.get(prompt)
        fig.add_bar(
            x=names,
            y=[v.minutes[prompt] for v in stats.vods],
            name=prompt,
            marker={"color": color, "opacity": 0.45 if grey else 1.0},
            customdata=[100 * v.share[prompt] for v in stats.vods],
            hovertemplate="%{x}<br>"
            + prompt
            + ": %{y:.1f} min (%{customdata:.0f}%)<extra></extra>",
        )
    fig.update_layout(barmode="stack", yaxis_title="minutes", title="Mood mix", **LAYOUT)
    return fig


def per_hour(stats: LibraryStats) -> go.Figure:
    """Highlights per hour over stream dates."""
    days = stats.by_date()
    fig = go.Figure(
        go.Scatter(
            x=[d["date"] for d in days],
            y=[d["per_hour"] for d in days],
            mode="lines+markers",
            customdata=[[d["highlights"], d["hours"]] for d in days],
            hovertemplate="%{x}: %{y:.1f}/h (%{customdata[0]} in %{customdata[1]:.1f} h)<extra></extra>",
        )
    )
    fig.update_layout(title="Highlights per hour", yaxis_title="per hour", **LAYOUT)
    fig.update_xaxes(type="category")
    return fig


def clock_ticks(longest_s: float) -> list[float]:
    """Round times from 0 to ``longest_s``, at most ``MAX_TICKS`` of them, for a time axis."""
    step = next((t for t in TICK_STEPS_S if longest_s / t < MAX_TICKS), TICK_STEPS_S[-1])
    return [float(t) for t in np.arange(0.0, longest_s + 1e-9, step)]


def heatmap(stats: LibraryStats) -> go.Figure:
    """VOD × time into the stream: how strong the strongest moment is.

    The library bins each VOD in twentieths of its length; each row draws its bins at their
    times (seconds on the axis, read as clocks), so a shorter VOD's row ends where it ended.
    """
    fig = go.Figure()
    names = _names(stats)
    # Rows on a numeric axis named by ticks: plotly.js fails on several heatmap traces
    # sharing a category axis ("Cannot read properties of undefined (reading 'length')").
    for row, (name, vod) in enumerate(zip(names, stats.vods, strict=True)):
        edges_s = np.linspace(0.0, vod.duration_s, HEAT_BINS + 1)
        spans = [[name, f"{clock(a)}–{clock(b)}"] for a, b in pairwise(edges_s)]
        fig.add_heatmap(
            z=[vod.heat.tolist()],
            x=edges_s.tolist(),
            y=[row],
            customdata=[spans],
            coloraxis="coloraxis",
            name=name,
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}: %{z:.2f}<extra></extra>",
        )
    ticks_s = clock_ticks(max((v.duration_s for v in stats.vods), default=0.0))
    fig.update_xaxes(
        title="time into the stream",
        tickvals=ticks_s,
        ticktext=[clock(t) for t in ticks_s],
        showgrid=False,
    )
    fig.update_yaxes(tickvals=list(range(len(names))), ticktext=names, showgrid=False)
    fig.update_layout(
        title="Where the moments are",
        coloraxis={
            "colorscale": [[0.0, "#1b1b2f"], [0.5, "#AB63FA"], [1.0, "#FECB52"]],
            "cmin": 0,
            "cmax": 1,
            "colorbar": {"title": "p"},
        },
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        **LAYOUT,
    )
    return fig


def best_table(stats: LibraryStats) -> pd.DataFrame:
    """The best moments for people: times as clocks, the VOD by its title (never its path).

    The CSV and JSON downloads keep the seconds and the source (``emotion.analytics``).
    """
    return pd.DataFrame(
        {
            "date": [best_row(m)["date"] for m in stats.best],
            "title": [m.title or Path(m.source).name for m in stats.best],
            "label": [m.label for m in stats.best],
            "start": [clock(m.start_s, hours=True) for m in stats.best],
            "end": [clock(m.end_s, hours=True) for m in stats.best],
            "score": [round(m.score, 4) for m in stats.best],
        },
        columns=["date", "title", "label", "start", "end", "score"],
    )


def learned_table(reports: list[LabelReport]) -> pd.DataFrame:
    """Per label: picks and leave-one-out precision before → after."""
    return pd.DataFrame(
        {
            "label": [r.label for r in reports],
            "kept": [r.n_kept for r in reports],
            "rejected": [r.n_rejected for r in reports],
            "before": [r.before for r in reports],
            "after": [r.after for r in reports],
        }
    )
