"""Hypeline's dashboard: ``streamlit run dashboard.py``.

The frame around every page: page config, the navigation over ``pages/``, the exposure
warning and sign-in of shared mode (``ui/shared.py``), and the shared sidebar (model,
prompts, highlight settings; left in ``st.session_state.settings``).
"""

import streamlit as st

from emotion.errors import HypelineError
from ui import model, shared, sidebar, signin  # no torch: the model loads on a thread

# Why this frame needs no rerun and no patch. The cause (Streamlit 1.67): the first session
# of a process sets `PagesManager.uses_pages_directory` (streamlit/runtime/pages_manager.py)
# from whether a `pages/` folder lies beside the entry file, and only a call of
# st.navigation clears it (streamlit/commands/navigation.py). While it is set, the script
# runner runs the entry through `_mpa_v1` (streamlit/runtime/scriptrunner/script_runner.py),
# the legacy router over pages/*.py, and nothing an app can configure turns it off. Our
# pages/ folder stays (the product's layout names it), so the first run after `streamlit run`
# (and every AppTest run) goes through that router. It runs its main page, this file, unless
# the address names a file of pages/ (then that file alone; each page's
# signin.require_frame() sends it back here). So:
# - st.navigation comes first (the imports above take well under a second: no torch), so
#   the legacy menu it has already sent is replaced in the same instant, and the flag is
#   cleared for the process;
# - that menu is never drawn (.streamlit/config.toml: client.showSidebarNavigation =
#   false), and ours sits on top, which that setting does not hide;
# - no page lives at its file's name (url_path below, the default page too: a page's id is
#   the hash of its url_path), so the legacy router never takes a page's id for one of its
#   own pages: it runs this frame, which finds the page. (The one trace left: a fresh
#   server's very first request naming a page, e.g. a bookmark of /clip-lab, also gets
#   the legacy router's "Page not found" note over the right page: its `_navigation`
#   cannot find "clip-lab" among the file names before ours runs.)
# tests/test_dashboard.py checks the naming rule on this list; tests/test_browser.py the
# first view.
st.set_page_config(
    page_title="Hypeline", page_icon=":material/bolt:", layout="wide", initial_sidebar_state=380
)
# fmt: off
PAGES = [  # one line a page; url_path: not the file's name (see above)
    st.Page("pages/analyze.py", title="Analyze", icon=":material/bolt:", url_path="vods", default=True),
    st.Page("pages/live.py", title="Live", icon=":material/sensors:", url_path="on-air"),
    st.Page("pages/analytics.py", title="Analytics", icon=":material/insights:", url_path="stats"),
    st.Page("pages/search.py", title="Search", icon=":material/search:", url_path="find"),
    st.Page("pages/clips.py", title="Clips", icon=":material/movie:", url_path="shorts"),
    st.Page("pages/clip_lab.py", title="Clip Lab", icon=":material/graphic_eq:", url_path="clip-lab"),
    st.Page("pages/library.py", title="Library", icon=":material/video_library:", url_path="vod-library"),
]
# fmt: on
page = st.navigation(PAGES, position="top")

try:
    config = shared.config()
except HypelineError as e:  # a shared server with a broken table stays closed
    st.error(str(e))
    st.stop()
if warning := shared.exposure(config):
    st.warning(warning, icon=":material/public:")
signin.gate(config)  # stops here until signed in, when a sign-in is set up

settings = sidebar.render(locked=config.shared)
signin.account(config)
# The model loads in the background (ui/model.py): nothing here waits for it, a page
# waits only where it needs it, and the app is drawn again once it has loaded or failed.
if settings.model and model.known(settings.model) and (why := model.error(settings.model)):
    # The library stays browsable without the model; only new work and scoring need it.
    st.error(why)
    st.caption("Here: choose **Local folder…** under Model in the sidebar and give that folder.")

page.run()
