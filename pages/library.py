"""Library: every analysis with its size and prompts; open, rename or delete one; analyse many."""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from emotion.clock import clock
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.search import aired_s
from ui import batch, job, shared, signin

signin.require_frame()
config = shared.config()
store = Store()

st.title("Library")
records = store.analyses()
if config.shared:  # visitors see what they may open, and change nothing
    policy = shared.policy(config)
    records = [r for r in records if policy is None or policy.allows(r.source.path)]
else:  # a whole folder or channel at once is for the owner of the machine
    batch.panel(store, st.session_state.settings)
    records = store.analyses()  # with what the batch added
if not records:
    st.info("Nothing analysed yet: analyse a VOD on the **Analyze** page first.")
    st.stop()

st.dataframe(
    pd.DataFrame(
        {
            "id": [r.id for r in records],
            "title": [r.title for r in records],
            "duration": [
                clock(r.duration_s, hours=True) if r.duration_s else "incomplete" for r in records
            ],
            "model": [Path(r.model).name for r in records],
            "date": [dt.date.fromtimestamp(aired_s(r)).isoformat() for r in records],
            "size": [job.size_text(store.size_bytes(r)) for r in records],
            "prompts last used": [", ".join(r.last_labels) for r in records],
        }
    ),
    hide_index=True,
    key="library_table",
)

by_id = {r.id: r for r in records}
with st.container(horizontal=True, vertical_alignment="bottom"):
    picked = st.selectbox(
        "Analysis",
        list(by_id),
        format_func=lambda i: f"{by_id[i].title} (#{i})",
        key="library_pick",
    )
    if st.button(
        "Open",
        key="library_go",
        type="primary",
        icon=":material/open_in_new:",
        help="Show it on the Analyze page, with the sidebar's prompts.",
    ):
        st.session_state.analysis_id = picked
        st.session_state.library = picked  # the Analyze page's own library list agrees
        st.switch_page("pages/analyze.py")  # the sidebar's widgets persist across pages
record = by_id[picked]
if config.shared:
    st.caption("Renaming and deleting are for the owner of this server.")
    st.stop()
with st.container(horizontal=True, vertical_alignment="bottom"):
    name = st.text_input("Name", value=record.title, key=f"library_name_{record.id}")
    if st.button("Rename", key="library_rename"):
        store.rename(record.id, name)
        st.rerun()
if st.session_state.get("library_confirm") != record.id:
    if st.button("Delete…", key="library_delete", icon=":material/delete:"):
        st.session_state.library_confirm = record.id
        st.rerun()
    st.stop()
st.warning(
    f"Delete **{record.title}**: its embeddings, reviews and, when no other analysis uses it, its downloaded or uploaded media? This cannot be undone."
)
with st.container(horizontal=True):
    if st.button("Delete for good", key="library_delete_yes", type="primary"):
        try:
            store.delete(record.id)
        except HypelineError as e:
            st.error(str(e))
            st.stop()
        del st.session_state.library_confirm
        if st.session_state.get("analysis_id") == record.id:
            del st.session_state.analysis_id
        st.rerun()
    if st.button("Cancel", key="library_delete_no"):
        del st.session_state.library_confirm
        st.rerun()
