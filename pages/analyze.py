"""Analyze: a VOD link, an upload or a past analysis → timeline, highlights, exports."""

import dataclasses

import streamlit as st

from emotion.library.store import Store
from ui import exports, job, job_form, model, results, shared, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
config = shared.config()  # checked by dashboard.py already
policy = shared.policy(config)  # None: one person's dashboard, anything opens
budget_bytes = shared.disk_budget_bytes(config)  # None: no disk budget
store = Store()

st.title("Find the moments")
st.caption(
    "Paste a VOD link → **Analyze** → download your chapters. Describe the moments in the sidebar."
)

paths = policy is None or bool(policy.media_folders)  # shared, no media folder: links only
TABS = [
    f":material/link: {'Link or file path' if paths else 'Link'}",
    ":material/upload: Upload",
    ":material/video_library: Library",
]
link_tab, upload_tab, library_tab = st.tabs(TABS)
with link_tab:
    link = st.text_input(
        "VOD link or file path" if paths else "VOD link",
        key="link",
        placeholder="https://www.twitch.tv/videos/…" + ("  or  /path/to/vod.mp4" if paths else ""),
    )
    if policy is not None and policy.media_folders:
        st.caption("Files open from " + ", ".join(f"`{f}`" for f in policy.media_folders) + ".")
    track = job_form.track_picker(job_form.audio_tracks(link, policy), key="link_track")
    link_chat = job_form.chat_picker(key="link_chat")
    if pressed := st.button("Analyze", key="analyze_link", type="primary"):
        job_form.start(link, settings, track, link_chat)
with upload_tab:
    cap_mb = shared.upload_cap_mb(config)
    upload = st.file_uploader(
        "A video or audio file", type=job_form.MEDIA_TYPES, key="upload", max_upload_size=cap_mb
    )
    upload_chat = job_form.chat_picker(key="upload_chat")
    if st.button("Analyze", key="analyze_upload", type="primary", disabled=not upload) and upload:
        pressed = True
        job_form.start_upload(upload, settings, cap_mb, upload_chat)
    bigger = ": for a bigger file, give its path in the first tab" if paths else ""
    st.caption(f"Up to {cap_mb} MB (held in the server's memory while it uploads){bigger}.")
with library_tab:
    if (resume := job_form.library(store, policy.allows if policy else None)) is not None:
        st.session_state.job = resume
    job_form.disk_usage(store.home, budget_bytes)
started = st.session_state.get("job") is not None  # queued now, or carried on from a rerun
job.run(store, policy, budget_bytes)

if job.failed() is not None:  # said above; another VOD's results under it would read as its own
    if "analysis_id" in st.session_state:
        st.caption(
            "The results shown before are hidden while this error stands: open them again from the Library."
        )
    st.stop()
if "analysis_id" not in st.session_state:
    if not (pressed or started):  # else its progress, or why it did not start, says enough
        st.info(
            "Paste a link or drop a file above and press **Analyze**, or open a past analysis from the Library."
        )
    st.stop()
try:
    record = store.analysis(st.session_state.analysis_id)
except KeyError:  # the library was moved or emptied
    del st.session_state.analysis_id
    st.rerun()
if not record.complete and record.kind == "live":
    st.info(
        f"{record.title} is a live stream still being followed: watch it on the **Live** page; it opens here once it ends."
    )
    st.stop()
if not record.complete:
    st.info(
        f"{job_form.describe(record)}: press **Resume** in the Library (or Analyze again) to finish it."
    )
    st.stop()
if (damage := store.check(record)) is not None:
    st.warning(damage)  # never scored as it is: a run repairs it under the analysis's lease
    if st.button("Analyze again", key="repair", type="primary"):
        st.session_state.job = job.Run.of(record)
        st.rerun()
    st.stop()
if settings.problem:
    st.error(settings.problem)
    st.stop()
clap = model.get(record.model)
if clap is None:
    # The sidebar's own model: the frame shows its error already, so it is not repeated.
    why = (
        "It is the sidebar's model: see above."
        if record.model == settings.model
        else model.error(record.model)
    )
    st.info(f"Results need the model this VOD was analysed with. {why}")
    st.stop()

# Moments kept from Search are among the highlights: the table, the timeline and the exports.
analysis = results.scored(record, store, clap, settings)
st.subheader(record.title)  # the library's name for it (renamed there), else the VOD's
st.caption(f"{job_form.summary(record)} · {len(analysis.highlights)} highlights")
if record.nonfinite_s > 0:
    st.warning(
        f"{record.nonfinite_s:.2f} s of this audio decoded as invalid numbers (NaN/Inf) and was analysed as silence."
    )
if (tracks := job_form.audio_tracks(record.source.path)) and len(tracks) > 1:
    picked = job_form.track_picker(
        tracks, key=f"track_{record.id}", current=record.audio_track, label="Analysed track"
    )
    if picked != record.audio_track and st.button(f"Analyze track {picked}", key="analyze_track"):
        st.session_state.job = dataclasses.replace(job.Run.of(record), audio_track=picked)
        st.rerun()
exports.panel(analysis, store)
results.show_timeline(analysis, settings, store)
table_col, player_col = st.columns([3, 2])
with table_col:
    results.highlight_table(analysis, store)
with player_col:
    playing = results.analysis_player(record, store.home)
    if st.button(
        "More like this",
        key="more_like_this",
        icon=":material/manage_search:",
        help="Search the whole library for moments like the one playing",
    ):
        st.session_state.search_like = (record.id, playing.start_s if playing else 0.0)
        st.switch_page("pages/search.py")
