"""The timeline figure (a pure function of an analysis) and where a click on it points.

The x axis is a date axis starting at the epoch, so plotly lays out and formats the ticks
as clock times (h:mm:ss) at any zoom; every point also carries its time in seconds as
``customdata[0]``, which is what a click reads back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from emotion.analysis import Analysis
from emotion.chat.series import ChatSeries, chat_spikes
from emotion.clock import clock
from emotion.library.records import review_key
from emotion.scoring.highlights import cell_timeline, smooth
from emotion.scoring.presets import color as default_color

EPOCH = datetime(1970, 1, 1)
TIME_FORMAT = "%-H:%M:%S"
BAND_OPACITY = 0.18
STAR_Y = 1.05  # the highlights' stars ride above the lines, so a click finds them
TOP_Y = 1.09
CHAT_COLOR = "#6C6C7A"
SPIKE_COLOR = "#F5A623"


def at(seconds: float | np.ndarray) -> Any:
    """Seconds of the VOD as the axis' datetimes."""
    if isinstance(seconds, np.ndarray):
        return np.datetime64("1970-01-01T00:00:00") + (seconds * 1000).astype("timedelta64[ms]")
    return EPOCH + timedelta(seconds=float(seconds))


def timeline_scores(analysis: Analysis, smoothing_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(cell_starts_s, scores[n_cells, n_prompts])``: what the highlights are cut from."""
    starts, scores = cell_timeline(
        analysis.scores, analysis.hop_s, analysis.window_s, analysis.duration_s
    )
    smoothed = [smooth(col, smoothing_s, analysis.hop_s) for col in scores.T]
    return starts, np.stack(smoothed, axis=1)


def figure(
    analysis: Analysis,
    colors: Mapping[str, str],
    threshold: float,
    smoothing_s: float = 0.0,
    dropped: Collection[tuple[str, float]] = (),
    chat: ChatSeries | None = None,
) -> go.Figure:
    """One line per prompt in its color (background dotted), highlight bands, threshold line.

    ``dropped`` holds ``(label, start_s)`` of highlights the user rejected: drawn hollow.
    With a ``chat`` replay, a lane under the prompts: its messages per bin, spikes marked.
    """
    starts, scores = timeline_scores(analysis, smoothing_s)
    fig = (
        go.Figure()
        if chat is None
        else make_subplots(
            rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2], vertical_spacing=0.04
        )
    )
    row = {} if chat is None else {"row": 1, "col": 1}
    hs = analysis.highlights
    about = [[h.start_s, f"{clock(h.start_s)}–{clock(h.end_s)}", h.label, h.score] for h in hs]
    hover = "%{customdata[2]} · %{customdata[1]} · peak %{customdata[3]:.0%}<br>click to play"
    # The bands are bars, not shapes, so that a click on one selects it and seeks there.
    fig.add_trace(
        go.Bar(
            x=[at((h.start_s + h.end_s) / 2) for h in hs],
            width=[(h.end_s - h.start_s) * 1000 for h in hs],  # ms on a date axis
            y=[TOP_Y] * len(hs),
            base=0,
            name="bands",
            showlegend=False,
            marker={"color": [colors.get(h.label, "#888888") for h in hs], "line_width": 0},
            opacity=BAND_OPACITY,
            customdata=about,
            hovertemplate=hover + "<extra></extra>",
            selected={"marker": {"opacity": 1}},
            unselected={"marker": {"opacity": 1}},
        ),
        **row,
    )
    for j, prompt in enumerate(analysis.prompts):
        background = prompt in analysis.background
        color = colors.get(prompt) or default_color(j, background)
        fig.add_trace(
            go.Scatter(
                x=at(starts + analysis.hop_s / 2),
                y=scores[:, j],
                name=prompt + (" (background)" if background else ""),
                mode="lines+markers",
                marker={"size": 4},
                customdata=[[float(t), clock(t)] for t in starts],
                line={
                    "color": color,
                    "width": 1.2 if background else 2.4,
                    "dash": "dot" if background else "solid",
                },
                opacity=0.6 if background else 1.0,
                unselected={"marker": {"opacity": 1}},
                hovertemplate=f"%{{customdata[1]}} · {prompt}: %{{y:.0%}}<extra></extra>",
            ),
            **row,
        )
    fig.add_trace(
        go.Scatter(
            x=[at(h.peak_s) for h in hs],
            y=[STAR_Y] * len(hs),
            name="highlights",
            mode="markers",
            showlegend=False,
            customdata=about,
            marker={
                "symbol": [
                    "star-open" if review_key(h.label, h.start_s) in dropped else "star" for h in hs
                ],
                "size": 14,
                "color": [colors.get(h.label, "#888888") for h in hs],
                "line": {"width": 1, "color": "white"},
            },
            unselected={"marker": {"opacity": 1}},
            hovertemplate=hover + "<extra></extra>",
        ),
        **row,
    )
    fig.add_hline(
        y=threshold,
        line_dash="dash",
        line_width=1,
        line_color="#888888",
        annotation_text=f"threshold {threshold:.0%}",
        annotation_position="top left",
        **row,
    )
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0},
        clickmode="event+select",
        dragmode="zoom",
        barmode="overlay",
        bargap=0,
    )
    fig.update_xaxes(
        type="date",
        tickformat=TIME_FORMAT,
        hoverformat=TIME_FORMAT,
        range=[at(0), at(max(analysis.duration_s, analysis.hop_s))],
    )
    fig.update_yaxes(range=[0, TOP_Y], tickformat=".0%", title=None, **row)
    if chat is not None:
        _chat_lane(fig, chat)
        fig.update_layout(height=520)
    return fig


def _chat_lane(fig: go.Figure, chat: ChatSeries) -> None:
    """Messages per bin as bars under the prompts, a spike's bins in their own color; a
    hover tells the bin's top emotes and keywords, a click plays from the bin."""
    starts = np.arange(chat.messages.size) * chat.bin_s
    hot = np.zeros(chat.messages.size, dtype=bool)
    for spike in chat_spikes(chat):
        hot[round(spike.start_s / chat.bin_s) : round(spike.end_s / chat.bin_s)] = True
    about = [
        [float(t), clock(t), ", ".join(chat.top(i)) or "—", "spike · " if hot[i] else ""]
        for i, t in enumerate(starts)
    ]
    fig.add_trace(
        go.Bar(
            x=at(starts + chat.bin_s / 2),
            y=chat.messages,
            width=chat.bin_s * 1000,
            name="chat",
            showlegend=False,
            marker={"color": [SPIKE_COLOR if h else CHAT_COLOR for h in hot], "line_width": 0},
            customdata=about,
            selected={"marker": {"opacity": 1}},
            unselected={"marker": {"opacity": 1}},
            hovertemplate="%{customdata[3]}%{customdata[1]} · chat: %{y} messages"
            "<br>%{customdata[2]}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(title="chat", rangemode="tozero", row=2, col=1)
    usual = f"usual {chat.baseline:.0f} / {chat.bin_s:.0f} s"
    fig.add_hline(
        y=chat.baseline,
        line_dash="dot",
        line_width=1,
        line_color="#888888",
        annotation_text=usual,
        annotation_position="top left",
        row=2,
        col=1,
    )


def selected_time(selection: Mapping[str, Any] | None) -> float | None:
    """The time (s) a click or box selection on the figure points at, if any."""
    if not selection:
        return None
    for point in selection.get("points") or []:
        custom = point.get("customdata")
        if custom:
            return float(custom[0])
        if point.get("x") is not None:
            return _seconds(point["x"])
    for box in selection.get("box") or []:
        xs = box.get("x") or []
        if xs:
            return min(_seconds(x) for x in xs)
    return None


def _seconds(x: Any) -> float:
    """An x value back from the browser (a date string, or epoch ms) as seconds of the VOD."""
    if isinstance(x, int | float):
        return max(0.0, float(x) / 1000)
    moment = datetime.fromisoformat(str(x).replace("Z", ""))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return max(0.0, (moment - EPOCH).total_seconds())
