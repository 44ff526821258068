"""Analytics: every VOD of the library, re-scored with the sidebar's prompts."""

import datetime as dt
import json

import streamlit as st

from emotion.analytics import best_csv, best_json, library_stats
from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.scoring.adapt import describe, learn, library_examples
from emotion.scoring.keywords import DEFAULT_KEYWORDS
from emotion.scoring.packs import Pack
from ui import analytics, model, results, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
store = Store()

st.title("Across your streams")
st.caption("Every VOD analysed with this model, re-scored with the sidebar's moments.")
clap = model.get(settings.model) if settings.model else None
if settings.problem or clap is None:
    st.info(settings.problem or "Load a model in the sidebar to re-score the library.")
    st.stop()
aired = [r.published or r.created for r in store.analyses() if r.model == clap.name and r.complete]
if not aired:
    st.info("No finished analysis with this model yet: analyse a VOD on the Analyze page first.")
    st.stop()

first, last = (dt.datetime.fromtimestamp(t, dt.UTC).date() for t in (min(aired), max(aired)))
with st.container(horizontal=True, vertical_alignment="bottom"):
    since = st.date_input("From", first, key="stats_since")
    until = st.date_input("To", last, key="stats_until")
    learning = st.toggle(
        "Learn from my picks",
        key="learn",
        value=False,
        help="Adapt each label to the moments you kept and rejected (at least 2 kept).",
    )

adapter = None
extra = (
    st.session_state.get("pack_examples", [])
    if st.session_state.get("pack_model") == clap.name
    else []
)
try:
    if learning:
        adapter = learn(store, clap, settings.labels, settings.background, settings.template, extra)
        st.dataframe(
            analytics.learned_table(adapter.reports),
            hide_index=True,
            column_config={
                "before": st.column_config.NumberColumn("precision before", format="%.2f"),
                "after": st.column_config.NumberColumn("after (leave-one-out)", format="%.2f"),
            },
        )
        st.caption(" · ".join(describe(r) for r in adapter.reports))
    stats = library_stats(
        store,
        clap,
        settings.labels,
        settings.background,
        settings.template,
        settings.highlights,
        since=dt.datetime.combine(since, dt.time(), dt.UTC).timestamp(),
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp(),
        adapter=adapter,
    )
except HypelineError as e:
    st.error(str(e))
    st.stop()
if not stats.vods:
    st.info("No stream aired in that range; widen the dates.")
    st.stop()

left, right = st.columns(2)
left.plotly_chart(analytics.mood_mix(stats, settings.colors), key="mood_mix")
right.plotly_chart(analytics.per_hour(stats), key="per_hour")
st.plotly_chart(analytics.heatmap(stats), key="heatmap", theme=None)  # its own colors

st.subheader("Best of")
table = analytics.best_table(stats)
st.dataframe(table, hide_index=True, key="best_of")
with st.container(horizontal=True):
    st.download_button("CSV", best_csv(stats.best), "best-of.csv", "text/csv", key="best_csv")
    st.download_button(
        "JSON", best_json(stats.best), "best-of.json", "application/json", key="best_json"
    )
    pack = Pack(
        labels=settings.labels,
        background=settings.background,
        colors=settings.colors,
        template=settings.template,
        settings=settings.highlights,
        model=clap.name,
        examples=[*library_examples(store, clap.name, settings.labels), *extra],
        chat_keywords=None
        if settings.chat_keywords == DEFAULT_KEYWORDS
        else list(settings.chat_keywords),
    )
    st.download_button(
        "Save as prompt pack",
        json.dumps(pack.to_dict()),
        "hypeline-pack.json",
        "application/json",
        key="save_pack",
    )
if stats.best:
    labels = [f"{m.title} · {m.label} at {clock(m.start_s)}" for m in stats.best]
    moment = stats.best[labels.index(st.selectbox("Play", labels, key="best_play") or labels[0])]
    record = store.analysis(moment.analysis_id)
    st.session_state.seek_s = moment.start_s
    results.player(record.source, store.home, record.audio_track)
