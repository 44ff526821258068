"""Figures and tables of the Analytics page (plotly), from ``emotion.analytics`` results."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from emotion.analytics import HEAT_BINS, LibraryStats, best_row
from emotion.scoring.adapt import LabelReport
from emotion.scoring.presets import BACKGROUND_PALETTE

LAYOUT = {"margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "height": 320}


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
            x=names, y=[v.minutes[prompt] for v in stats.vods], name=prompt,
            marker={"color": color, "opacity": 0.45 if grey else 1.0},
            customdata=[100 * v.share[prompt] for v in stats.vods],
            hovertemplate="%{x}<br>" + prompt + ": %{y:.1f} min (%{customdata:.0f}%)<extra></extra>",
        )  # fmt: skip
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


def heatmap(stats: LibraryStats) -> go.Figure:
    """VOD × position in the stream: how strong the strongest moment is."""
    fig = go.Figure(
        go.Heatmap(
            z=stats.heatmap,
            y=_names(stats),
            x=[f"{100 * (b + 0.5) / HEAT_BINS:.0f}%" for b in range(HEAT_BINS)],
            colorscale=[[0.0, "#1b1b2f"], [0.5, "#AB63FA"], [1.0, "#FECB52"]],
            zmin=0,
            zmax=1,
            colorbar={"title": "p"},
            hovertemplate="%{y}<br>at %{x} of the stream: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Where the moments are", xaxis_title="position in the stream",
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        **LAYOUT,
    )  # fmt: skip
    return fig


def best_table(stats: LibraryStats) -> pd.DataFrame:
    rows = [best_row(m) for m in stats.best]
    columns = ["date", "title", "label", "start_s", "end_s", "score", "source"]
    return pd.DataFrame(rows, columns=columns)


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
