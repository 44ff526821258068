"""Search: the best moments over the whole library, for a text, a clip or a moment."""

import datetime as dt
import tempfile
from pathlib import Path

import streamlit as st

from emotion.clock import clock, parse_clock
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.search import (
    DEFAULT_MIN_SCORE,
    DEFAULT_TOP,
    Hit,
    Query,
    aired_s,
    clip_query,
    moment_query,
    search,
    text_query,
)
from ui import model, results, shared, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
policy = shared.policy(shared.config())  # None: one person's dashboard
store = Store()

st.title("Search the library")
st.caption(
    "Describe a moment, or give one you like, and find the best such moments across every VOD analysed with this model."
)

records = [r for r in store.analyses() if r.n_done > 0 and r.model == settings.model]
if policy is not None:  # a visitor searches what they may play
    records = [r for r in records if policy.allows(r.source.path)]
if not records:
    st.info("Nothing analysed with this model yet: analyse a VOD on the **Analyze** page first.")
    st.stop()
by_id = {r.id: r for r in records}
# "More like this" on the Analyze page: the moment playing there, searched at once.
like = st.session_state.pop("search_like", None)
if like is not None and like[0] in by_id:
    st.session_state.search_like_vod = like[0]
    st.session_state.search_like_at = clock(like[1], hours=True)
st.session_state.setdefault("search_like_at", "0:00:00")

text_tab, clip_tab, moment_tab = st.tabs(
    [":material/search: Text", ":material/upload: Like a clip", ":material/bookmark: Like a moment"]
)
with text_tab:
    text = st.text_input(
        "What does the moment sound like?", key="search_text", placeholder="crowd screaming"
    )
    by_text = st.button("Search", key="search_go_text", type="primary")
with clip_tab:
    upload = st.file_uploader(
        "A short clip", type=["wav", "mp3", "flac", "ogg", "m4a", "mp4"], key="search_clip"
    )
    by_clip = st.button("Search like this clip", key="search_go_clip", disabled=upload is None)
with moment_tab:
    cols = st.columns([3, 1])
    like_id = cols[0].selectbox(
        "VOD", list(by_id), format_func=lambda i: f"{by_id[i].title} (#{i})", key="search_like_vod"
    )
    like_at = cols[1].text_input("At (h:mm:ss)", key="search_like_at")
    by_moment = st.button("Search like this moment", key="search_go_moment") or (
        like is not None and like[0] in by_id
    )

with st.expander("Filters", icon=":material/filter_list:"):
    vods = st.multiselect(
        "Only these VODs", list(by_id), format_func=lambda i: by_id[i].title, key="search_vods"
    )
    days = sorted(dt.date.fromtimestamp(aired_s(r)) for r in records)
    span = st.date_input("Aired between", value=(days[0], days[-1]), key="search_days")
    top = st.slider("Results", 5, 100, DEFAULT_TOP, step=5, key="search_top")
    min_score = st.number_input(
        "Minimum similarity",
        -1.0,
        1.0,
        DEFAULT_MIN_SCORE,
        step=0.05,
        key="search_min",
        help="Moments whose best cosine with the query is lower are left out "
        "(below 0: less like it than unrelated sound).",
    )


def run(query: Query) -> None:
    since_s = until_s = None
    if isinstance(span, tuple) and len(span) == 2:
        since_s = dt.datetime.combine(span[0], dt.time.min).timestamp()
        until_s = dt.datetime.combine(span[1], dt.time.max).timestamp()
    ids = vods or (list(by_id) if policy is not None else None)
    hits = search(store, query, [settings.model], ids, since_s, until_s, top, min_score=min_score)
    st.session_state.search_results = (query.description, hits)
    st.session_state.pop("search_playing", None)


try:
    if by_text or by_clip:
        clap = model.get(settings.model)
        if clap is None:
            st.info(f"Searching by text or clip needs the model. {model.error(settings.model)}")
            st.stop()
        if by_text:
            run(text_query(clap, text, settings.template))
        elif upload is not None:
            with tempfile.TemporaryDirectory(prefix="hypeline-search-") as tmp:
                clip = Path(tmp) / Path(upload.name).name
                clip.write_bytes(upload.getvalue())
                run(clip_query(clap, clip, upload.name))
    if by_moment:
        run(moment_query(store, like_id, parse_clock(like_at)))
except HypelineError as e:
    st.error(str(e))
    st.stop()

if "search_results" not in st.session_state:
    st.stop()
description, hits = st.session_state.search_results
st.subheader(
    f"{len(hits)} moments {description if description.startswith('like ') else f'for “{description}”'}"
)


def add(hit: Hit, label: str) -> None:
    store.set_review(hit.analysis_id, label, hit.start_s, True, end_s=hit.end_s)
    st.toast(f"Kept in the highlights of {hit.title}; its exports hold it now.")


table_col, player_col = st.columns([3, 2])
with table_col:
    for rank, hit in enumerate(hits, 1):
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.markdown(
                f"**{rank}.** {hit.title} · `{clock(hit.start_s, hours=True)}–{clock(hit.end_s, hours=True)}` · {hit.score:.3f}"
            )
            if st.button("Play", key=f"search_play_{rank}", icon=":material/play_arrow:"):
                st.session_state.search_playing = hit
            st.button(
                "Add to highlights",
                key=f"search_add_{rank}",
                icon=":material/star:",
                on_click=add,
                args=(hit, description),
            )
with player_col:
    playing = st.session_state.get("search_playing")
    if playing is not None and playing.analysis_id in by_id:
        st.session_state.seek_s = playing.start_s
        record = by_id[playing.analysis_id]
        st.markdown(f"**{record.title}** from `{clock(playing.start_s, hours=True)}`")
        results.player(record.source, store.home, record.audio_track)
    else:
        st.caption("Press **Play** on a moment to hear it here.")
