"""Clip Lab: one clip close up — what the model hears, and what it makes of it."""

import streamlit as st

from emotion.classify import Classifier
from emotion.errors import HypelineError
from emotion.library.store import Store
from emotion.scoring.prompts import prompts_for
from ui import clip_lab, job_form, model, shared, signin

signin.require_frame()
settings = st.session_state.settings  # drawn by dashboard.py's sidebar
config = shared.config()  # checked by dashboard.py already
policy = shared.policy(config)  # None: one person's dashboard

st.title("Clip Lab")
st.caption("One clip, close up: what the model hears, and how the sidebar's prompts score it.")

clap = model.get(settings.model)
if clap is None:
    st.info(f"Clip Lab needs the model. {model.error(settings.model)}")
    st.stop()
if settings.problem:
    st.error(settings.problem)
    st.stop()
clf = Classifier(clap, settings.template)

origin = st.segmented_control(
    "Clip from", ["Upload", "Microphone", "Library"], default="Upload", key="lab_from"
)
try:
    if origin == "Microphone":
        recording = st.audio_input("Record a clip", key="lab_mic")
        clip = clip_lab.from_file(recording, clf) if recording else None
    elif origin == "Library":
        clip = clip_lab.library_moment(Store(), policy, clap)
    else:
        cap_mb = min(shared.upload_cap_mb(config), 200)  # a clip, not a VOD
        upload = st.file_uploader(
            "An audio or video clip",
            type=job_form.MEDIA_TYPES,
            key="lab_upload",
            max_upload_size=cap_mb,
        )
        clip = clip_lab.from_file(upload, clf) if upload else None
    if clip is None:
        st.info("Drop a clip, record one, or pick a moment of an analysed VOD.")
        st.stop()
    embedding = clip_lab.embedding(clip, clf)
    prompts = settings.labels + settings.background
    result = clf.classify_embedding(embedding, prompts)
except HypelineError as e:
    st.error(str(e))
    st.stop()

seconds = clip.waveform.size / clap.sampling_rate
st.subheader(clip.name)
st.caption(clip_lab.reading(clap, seconds))
wave_col, mel_col = st.columns(2)
with wave_col:
    st.plotly_chart(clip_lab.waveform_figure(clip.waveform, clap.sampling_rate), key="lab_wave")
    st.audio(clip_lab.sound(clip, clap.sampling_rate), format="audio/wav")
with mel_col:
    st.plotly_chart(
        clip_lab.mel_figure(clf.model_input(clip.waveform), clf.mel_hop_s), key="lab_mel"
    )

bars_col, side_col = st.columns([3, 2])
with bars_col:
    st.markdown(f"**The sidebar's prompts** · best: **{result.top_label}**")
    figure = clip_lab.bars_figure(result.scores, settings.colors, settings.background)
    # No toolbar: at the top right it covers the best bar's label ("100.0%").
    st.plotly_chart(figure, key="lab_bars", config={"displayModeBar": False})
with side_col:
    text = st.text_input("Match a text", key="lab_text", placeholder="e.g. crowd screaming")
    if text.strip():
        try:
            cosine = clf.match_embedding(embedding, text)
            templated = prompts_for(prompts, settings.template)
            cosines = dict(zip(prompts, clf.cosines(embedding, templated).tolist(), strict=True))
        except HypelineError as e:
            st.error(str(e))
        else:
            st.metric("Cosine similarity", f"{cosine:.4f}")
            st.caption(clip_lab.standing(cosine, cosines))
    st.markdown("**Model**")
    st.table(clip_lab.model_card(clap))
