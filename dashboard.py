"""Hypeline's dashboard: ``streamlit run dashboard.py``.

The frame around every page: page config, the exposure warning and sign-in of shared
mode (``ui/shared.py``), the navigation over ``pages/``, and the shared sidebar (model,
prompts, highlight settings; left in ``st.session_state.settings``).
"""

import streamlit as st

from emotion.errors import HypelineError
from ui import model, shared, sidebar, signin

st.set_page_config(
    page_title="Hypeline", page_icon=":material/bolt:", layout="wide", initial_sidebar_state=380
)
page = st.navigation(
    [
        st.Page("pages/analyze.py", title="Analyze", icon=":material/bolt:", default=True),
        st.Page("pages/analytics.py", title="Analytics", icon=":material/insights:"),
    ]
)
if "started" not in st.session_state:
    # The first run after `streamlit run` goes through Streamlit's legacy pages/ router
    # (a pages/ folder exists) and its widgets get other ids than every later run's, so
    # the first click of the first visitor would lose what they typed. One empty rerun
    # per session, before any widget, sidesteps that.
    st.session_state.started = True
    st.rerun()

try:
    config = shared.settings()
except HypelineError as e:  # a shared server with a broken table stays closed
    st.error(str(e))
    st.stop()
if warning := shared.exposure(config):
    st.warning(warning, icon=":material/public:")
signin.gate(config)  # stops here until signed in, when a sign-in is set up

settings = sidebar.render(locked=config.shared)
signin.account(config)
if settings.model and (why := model.error(settings.model)):
    # The library stays browsable without the model; only new work and scoring need it.
    st.error(why)
    st.caption("Here: choose **Local folder…** under Model in the sidebar and give that folder.")

page.run()
