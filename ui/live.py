"""The Live page's parts: the process's monitors, starting one, and a monitor's live panel.

The monitors live in one ``emotion.live.Monitors`` per server process
(``st.cache_resource``): they keep running when a tab closes or reloads, and every
session sees the same ones. A panel redraws itself every ``REFRESH_S`` as a fragment,
without rerunning the page. Its timeline is the Analyze page's: the analysis's cells
(``emotion.live.grid.LiveCells``), each prompt in the sidebar's color, on the same clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from emotion.chat.lag import LAG_DEFAULT_S, LAG_SEARCH_S
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.live import AlertSettings, LiveSettings, Monitor, Monitors
from emotion.live.chat import ChatSettings
from emotion.live.registry import MAX_MONITORS
from emotion.live.twitch_chat import channel_of
from emotion.media.netguard import check_public_url
from emotion.media.source import SourcePolicy, is_link
from emotion.scoring.presets import color as default_color
from ui import timeline
from ui.sidebar import Settings

if TYPE_CHECKING:  # the model module imports torch (seconds); the first view does not wait for it
    from emotion.model.clap import Clap

REFRESH_S = 1.5
TIMELINE_SHOWN_S = 300.0  # the rolling timeline's last minutes
ALERTS_SHOWN = 20
STATE_ICONS = {
    "connecting": ":orange[:material/hourglass_top:]",
    "connected": ":green[:material/radio_button_checked:]",
    "reconnecting": ":orange[:material/sync:]",
    "failed": ":red[:material/error:]",
}  # the ended ones: a grey stop sign
CHAT_FIELD = "the Channel field"  # how the library's chat refusals name where to fix it


@dataclass(frozen=True)
class ChatFields:
    """The start form's chat part, as typed: checked only by ``ChatSettings.of`` on Start."""

    channel: str  # empty: the channel of a twitch.tv link
    lag_s: float
    needs: float | None  # None: every alert is sent, whatever chat did


@st.cache_resource(show_spinner=False)
def registry() -> Monitors:
    """The server process's monitors (one for every session)."""
    return Monitors()


def alert_settings() -> tuple[float, tuple[str, ...], str | None, bool]:
    """The page's own sidebar part: cooldown, webhooks, secret, recording."""
    with st.sidebar:
        st.subheader("Live alerts")
        cooldown_s = st.number_input(
            "Cooldown per label (s)", 0, 3600, int(AlertSettings.cooldown_s), 5, key="live_cooldown"
        )
        hooks = st.text_area(
            "Webhooks (one URL a line)",
            key="live_webhooks",
            help="Each alert is POSTed as JSON; a Discord webhook URL gets a Discord message.",
        )
        secret = st.text_input(
            "Webhook secret",
            type="password",
            key="live_secret",
            help="Signs each body: X-Hypeline-Signature: sha256=HMAC-SHA256(secret, body).",
        )
        record = st.checkbox("Record the audio (for playback and clips)", True, key="live_record")
    urls = tuple(u.strip() for u in hooks.splitlines() if u.strip())
    return float(cooldown_s), urls, secret or None, record


def chat_fields(link: str, keywords: tuple[str, ...]) -> ChatFields | None:
    """The "Twitch chat" toggle and, when on, its fields; None when off. Only a channel name
    is taken (the IRC server is the dashboard's own), so shared mode needs nothing more."""
    if not st.toggle(
        "Twitch chat",
        key="live_chat",
        help="Read the channel's chat (read-only, "
        "anonymous): each alert waits for chat's answer and shows it.",
    ):
        return None
    channel, lag, needs = st.columns(3)
    name = channel.text_input(
        "Channel",
        key="live_chat_channel",
        placeholder=channel_of(link) or "channel name",
        help="Empty: the channel of the twitch.tv link above.",
    )
    lag_s = lag.number_input(
        "Chat lag (s)",
        0.0,
        LAG_SEARCH_S,
        LAG_DEFAULT_S,
        1.0,
        "%.1f",
        key="live_chat_lag",
        help="Chat's answer to an alert is its 10 s starting this long after the moment; an "
        "alert is sent once that has passed.",
    )
    factor = needs.number_input(
        "Alert only when chat reacts ×",
        value=None,
        step=0.5,
        format="%.1f",
        key="live_chat_needs",
        placeholder="off",
        help="Send an alert only when chat ran at least this many times its "
        "usual rate in that span (an alert whose chat was not read is sent).",
    )
    st.caption("Counted in chat: " + ", ".join(keywords) + " (the sidebar's Chat keywords).")
    return ChatFields(name.strip(), float(lag_s), None if factor is None else float(factor))


def start(
    spec: str,
    settings: Settings,
    clap: Clap,
    policy: SourcePolicy | None,
    realtime: bool,
    chat: ChatFields | None = None,
) -> None:
    """Start a monitor of ``spec`` (errors shown with ``st.error``)."""
    cooldown_s, hooks, secret, record = alert_settings_state()
    try:
        if not spec.strip():
            raise HypelineError("Paste the link of a live stream first.")
        chat_settings = None
        if chat is not None:  # the one check of a face's chat option
            chat_settings = ChatSettings.of(
                f"twitch:{chat.channel}" if chat.channel else "twitch",
                spec.strip(),
                chat.lag_s,
                chat.needs,
                settings.chat_keywords,
                option=CHAT_FIELD,
            )
        if policy is not None:  # a visitor's text: public links only, never the server's files
            if not is_link(spec):
                raise HypelineError("Only links to live streams can be monitored here.")
            check_public_url(spec, policy.resolve, policy.reachable)
        live = LiveSettings.build(
            settings.labels,
            settings.background,
            template=settings.template,
            threshold=settings.highlights.threshold,
            cooldown_s=cooldown_s,
            realtime=realtime,
            record=record,
            webhooks=hooks,
            webhook_secret=secret,
            chat=chat_settings,
        )
        if policy is None:
            monitor_id, _ = registry().start(spec, live, clap)
        else:  # each connection checked again as it is made (emotion.live.hls)
            monitor_id, _ = registry().start(
                spec, live, clap, guard=policy.reachable, limit=MAX_MONITORS
            )
    except HypelineError as e:
        st.error(str(e))
        return
    st.session_state[f"live_seen_{monitor_id}"] = 0


def alert_settings_state() -> tuple[float, tuple[str, ...], str | None, bool]:
    s = st.session_state
    hooks = tuple(u.strip() for u in s.get("live_webhooks", "").splitlines() if u.strip())
    return (
        float(s.get("live_cooldown", AlertSettings.cooldown_s)),
        hooks,
        s.get("live_secret") or None,
        bool(s.get("live_record", True)),
    )


@st.fragment(run_every=REFRESH_S)
def panel(monitor_id: int) -> None:
    """One monitor: state, current probabilities, rolling timeline, alerts, Stop."""
    monitor = registry().get(monitor_id)
    if monitor is None:
        return
    _toast_new_alerts(monitor_id, monitor)
    with st.container(border=True):
        head, stop = st.columns([5, 1])
        icon = STATE_ICONS.get(monitor.state, ":gray[:material/stop_circle:]")
        title = monitor.record.title if monitor.record else monitor.source
        head.markdown(
            f"**{title}**  \n{icon} {monitor.state} · {clock(monitor.stream_s)} of stream"
            f" · {monitor.n_alerts} alert(s)"
        )
        if monitor.message and monitor.state not in ("connected",):
            head.caption(monitor.message)
        if (chat := monitor.chat_now()) is not None:
            head.markdown(
                _chat_line(
                    chat.channel,
                    chat.state if monitor.running else "closed",
                    chat.messages,
                    chat.messages_per_10s,
                    chat.usual_per_10s,
                )
            )
        if monitor.running:
            if stop.button("Stop", key=f"live_stop_{monitor_id}"):
                registry().stop(monitor_id)  # returns once the analysis is finished
        elif stop.button("Remove", key=f"live_forget_{monitor_id}"):
            registry().forget(monitor_id)
            st.rerun()
        if monitor.gaps:
            st.caption("Gaps: " + ", ".join(f"{clock(a)}–{clock(b)}" for a, b in monitor.gaps))
        points = list(monitor.timeline)
        if points:
            chart, now = st.columns([3, 1])
            settings = st.session_state.get("settings")
            colors = settings.colors if isinstance(settings, Settings) else {}
            chart.plotly_chart(
                figure(monitor, colors),
                key=f"live_chart_{monitor_id}",
                config={"displaylogo": False},
            )
            with now:
                st.caption(f"Now (from {clock(points[-1].start_s)})")
                for label, p in zip(monitor.labels, points[-1].probabilities, strict=False):
                    st.progress(float(p), text=f"{label}: {p:.0%}")
            chart.caption(
                "Each point is a cell of the analysis, as on Analyze: its time is where its "
                "moment is, an alert's is where its highlight starts. A cell is settled once "
                f"the last window over it is heard, {monitor.settings.window_s:g} s after it starts."
            )
        _alert_feed(monitor_id, monitor)


def figure(monitor: Monitor, colors: Mapping[str, str]) -> go.Figure:
    """The last ``TIMELINE_SHOWN_S`` of cells, drawn as the Analyze page's timeline draws them:
    at the cell's midpoint, each prompt in ``colors`` (the sidebar's), background dotted."""
    points = list(monitor.timeline)
    last_s = points[-1].start_s if points else 0.0
    recent = [p for p in points if p.start_s >= last_s - TIMELINE_SHOWN_S]
    hop_s = monitor.settings.hop_s
    starts = [p.start_s for p in recent]
    fig = go.Figure()
    for j, prompt in enumerate(monitor.prompts):
        background = prompt in monitor.background
        fig.add_trace(
            go.Scatter(
                x=[timeline.at(t + hop_s / 2) for t in starts],
                y=[float(p.probabilities[j]) for p in recent],
                name=prompt + (" (background)" if background else ""),
                mode="lines",
                customdata=[[t, clock(t)] for t in starts],
                line={
                    "color": colors.get(prompt) or default_color(j, background),
                    "width": 1.2 if background else 2.4,
                    "dash": "dot" if background else "solid",
                },
                opacity=0.6 if background else 1.0,
                hovertemplate=f"%{{customdata[1]}} · {prompt}: %{{y:.0%}}<extra></extra>",
            )
        )
    threshold = monitor.settings.alerts.threshold
    fig.add_hline(
        y=threshold,
        line_dash="dash",
        line_width=1,
        line_color="#888888",
        annotation_text=f"alerts at {threshold:.0%}",
        annotation_position="top left",
    )
    fig.update_layout(
        height=240,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
    )
    fig.update_xaxes(type="date", tickformat=timeline.TIME_FORMAT, hoverformat=timeline.TIME_FORMAT)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title=None)
    return fig


def _alert_feed(monitor_id: int, monitor: Monitor) -> None:
    alerts = list(monitor.alerts)[::-1][:ALERTS_SHOWN]
    if not alerts:
        st.caption("No alerts yet.")
        return
    recording = monitor.record.source.path if monitor.record else None
    playable = recording is not None and not monitor.running and Path(recording).is_file()
    for i, a in enumerate(alerts):
        line, play = st.columns([5, 1])
        said = f" · {a.chat.why()}" if a.chat is not None else ""
        line.markdown(
            f":material/notifications: **{a.label}** at {clock(a.stream_time_s)} · {a.score:.0%} · "
            f"{a.detected_at[11:19]} UTC{said}"
        )
        if playable and play.button("▶", key=f"live_play_{monitor_id}_{i}", help="Play from here"):
            st.session_state[f"live_playing_{monitor_id}"] = a.stream_time_s
    start_s = st.session_state.get(f"live_playing_{monitor_id}")
    if playable and start_s is not None:
        st.audio(str(recording), format="audio/ogg", start_time=int(start_s), autoplay=True)


def _chat_line(
    channel: str, state: str, messages: int, last_10s: int | None, usual: float | None
) -> str:
    """ "#channel chat · connected · 37 messages read · 4 in the last 10 s (usual 3.1)"."""
    icon = STATE_ICONS.get(
        state, ":red[:material/error:]" if state == "gave up" else ":gray[:material/stop_circle:]"
    )
    rate = f" · {last_10s} in the last 10 s (usual {usual:g})" if last_10s is not None else ""
    return f":material/chat: #{channel} chat · {icon} {state} · {messages} messages read{rate}"


def _toast_new_alerts(monitor_id: int, monitor: Monitor) -> None:
    key = f"live_seen_{monitor_id}"
    seen = st.session_state.get(key)
    if seen is not None and monitor.n_alerts > seen:
        for a in list(monitor.alerts)[-(monitor.n_alerts - seen) :]:
            st.toast(
                f"{a.label} at {clock(a.stream_time_s)} ({a.score:.0%})",
                icon=":material/notifications:",
            )
    st.session_state[key] = monitor.n_alerts
