"""Clips: each highlight of an analysis → trimmed, laid out, rendered as a vertical short."""

import dataclasses

import streamlit as st

from emotion.library.store import Store
from ui import clips, clips_render, model, results, shared, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
config = shared.config()  # checked by dashboard.py already
policy = shared.policy(config)  # None: one person's dashboard
store = Store()

st.title("Clips")
st.caption(
    "Trim each highlight, choose the look, render vertical shorts to post as they are. Trims reach every export, the chapters too."
)

record = clips.pick(store, policy.allows if policy else None)
if record is None:
    st.info("Nothing analysed yet: analyse a VOD on the **Analyze** page first.")
    st.stop()
if settings.problem:
    st.error(settings.problem)
    st.stop()
clap = model.get(record.model)
if clap is None:
    st.info(f"Clips need the model this VOD was analysed with. {model.error(record.model)}")
    st.stop()

analysis = results.scored(record, store, clap, settings)
highlights = clips.shown(analysis, store)  # the kept ones when there are keeps, as found
if not highlights:
    st.info(
        "No highlight at this threshold: lower it in the sidebar, or keep a moment from Search."
    )
    st.stop()
look = clips.look(record)
render = clips_render.current(record.id)
clips_render.render_all(analysis, look, store, render)
stills = results.thumbnails(dataclasses.replace(analysis, highlights=highlights), store.home)
for i, h in enumerate(highlights, start=1):
    still = stills[i - 1] if stills else None
    clips.card(analysis, i, h, still, look, store, rendering=bool(render and render.running))
