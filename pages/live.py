"""Live: follow a stream as it happens; alerts, a rolling timeline, and an analysis at the end."""

import streamlit as st

from ui import live, model, shared, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
config = shared.config()
policy = shared.policy(config)  # None: one person's dashboard, files may be read live too
live.alert_settings()

st.title("Live monitor")
st.caption(
    "Paste a live stream's link → **Start** → alerts as the moments happen. It keeps running when you close the tab; when it ends it is an analysis in the Library."
)

paths = policy is None
link = st.text_input(
    "Live stream link" + (" or file path" if paths else ""),
    key="live_url",
    placeholder="https://www.twitch.tv/…  or  https://…/playlist.m3u8",
)
realtime = paths and st.checkbox("A file: read it at 1× speed, as if live", key="live_realtime")
chat = live.chat_fields(link, settings.chat_keywords)
if st.button("Start", key="live_start", type="primary"):
    if settings.problem:
        st.error(settings.problem)
    elif (clap := model.get(settings.model)) is None:
        st.error(model.error(settings.model) or "The model is not loaded.")
    else:
        live.start(link, settings, clap, policy, bool(realtime), chat)

monitors = live.registry().items()
if not monitors:
    st.info("No monitor is running. Start one above; every session of this dashboard sees it.")
    st.stop()
for monitor_id, _ in monitors:
    live.panel(monitor_id)
