"""Clip Lab's pieces: where the clip comes from, and the figures of what the model makes of it.

The numbers come from ``emotion.classify.Classifier``, as the CLI's ``classify`` and
``match`` do: an upload or a recording is decoded from a file with ffmpeg, exactly as the
CLI decodes that file, so both faces give the same probabilities and cosines.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from emotion.classify import Classifier
from emotion.clock import clock, parse_clock
from emotion.library.store import Store
from emotion.media.audio import load_segment
from emotion.media.source import SourcePolicy
from emotion.model.clap import Clap
from emotion.model.names import PUBLISHED_ZERO_SHOT
from ui import job_form

BACKGROUND_GREY = "#6E6E73"
WAVEFORM_POINTS = 4000  # min/max pairs drawn, whatever the clip's length


@dataclass(frozen=True)
class Clip:
    """A clip to look at: mono float32 at the model's rate, and where it came from."""

    name: str
    key: str  # what it holds (a content hash, or analysis@time): its embedding's cache key
    waveform: np.ndarray


def from_file(upload: UploadedFile, clf: Classifier) -> Clip:
    """An upload or a recording, decoded from a file with ffmpeg (as the CLI reads a file)."""
    data = upload.getvalue()
    suffix = Path(upload.name).suffix or ".wav"
    with tempfile.TemporaryDirectory(prefix="hypeline-clip-") as folder:
        path = Path(folder) / f"clip{suffix}"
        path.write_bytes(data)
        waveform = clf.waveform(path)
    return Clip(upload.name, hashlib.sha256(data).hexdigest(), waveform)


def library_moment(store: Store, policy: SourcePolicy | None, clap: Clap) -> Clip | None:
    """Pick an analysed VOD and a time; the window there, cut from its file with ffmpeg."""
    records = [
        r
        for r in store.analyses()
        if r.complete
        and r.source.path.is_file()
        and (policy is None or policy.allows(r.source.path))
    ]
    if not records:
        st.info("No analysed VOD here yet: analyse one on the Analyze page first.")
        return None
    record = st.selectbox("VOD", records, key="lab_vod", format_func=job_form.describe)
    at = st.text_input("At", key="lab_at", placeholder="h:mm:ss, e.g. 0:01:05")
    if record is None or not at.strip():
        return None
    start_s = parse_clock(at)
    length = record.source.duration_s or 0.0
    if length and start_s >= length:
        st.error(f"{record.source.title} lasts {clock(length)}; pick a time before its end.")
        return None
    waveform = load_segment(
        record.source.path, clap.sampling_rate, start_s, record.window_s, record.audio_track
    )
    st.caption(f"The {record.window_s:g} s window from {clock(start_s)}, as the analysis heard it.")
    return Clip(
        f"{record.source.title} @ {clock(start_s)}",
        f"{record.id}@{start_s}:{record.window_s}",
        waveform,
    )


def embedding(clip: Clip, clf: Classifier) -> np.ndarray:
    """The clip's embedding, computed once per clip and model (typing reruns the page)."""
    key = (clip.key, clf.clap.name, clf.clap.precision)
    cached = st.session_state.get("lab_embedding")
    if cached is None or cached[0] != key:
        cached = st.session_state.lab_embedding = (key, clf.embed(clip.waveform))
    return cached[1]


def sound(clip: Clip, sampling_rate: int) -> bytes:
    """The clip as the model hears it (mono, at its rate), a 16-bit WAV for ``st.audio``.

    Written here rather than by ``st.audio`` from the array, which scales every clip to full
    scale: a quiet clip would sound loud. Made once per clip (typing reruns the page).
    """
    cached = st.session_state.get("lab_sound")
    if cached is None or cached[0] != clip.key:
        pcm = (np.clip(clip.waveform, -1.0, 1.0) * 32767).round().astype("<i2")
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sampling_rate)
            w.writeframes(pcm.tobytes())
        cached = st.session_state.lab_sound = (clip.key, out.getvalue())
    return cached[1]


def waveform_figure(waveform: np.ndarray, sampling_rate: int) -> go.Figure:
    """The waveform as a min/max envelope (a few thousand points for any length)."""
    per = max(1, int(np.ceil(waveform.size / WAVEFORM_POINTS)))
    n = waveform.size // per * per
    blocks = waveform[:n].reshape(-1, per) if n else waveform[None, :1]
    t = np.arange(blocks.shape[0]) * per / sampling_rate
    fig = go.Figure(
        go.Scatter(
            x=np.concatenate([t, t[::-1]]),
            y=np.concatenate([blocks.max(1), blocks.min(1)[::-1]]),
            fill="toself",
            mode="lines",
            line={"width": 0.5, "color": "#9147FF"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.update_layout(
        height=200,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis_title="seconds",
        yaxis={"range": [-1, 1], "title": None},
    )
    return fig


def mel_figure(mel: np.ndarray, hop_s: float) -> go.Figure:
    """The log-mel the audio tower reads: time across, mel bands up, dB as colour."""
    fig = go.Figure(
        go.Heatmap(
            z=mel.T,
            x=np.arange(mel.shape[0]) * hop_s,
            y=np.arange(mel.shape[1]),
            colorscale="Magma",
            colorbar={"title": "dB"},
            hovertemplate="%{x:.2f} s · band %{y} · %{z:.1f} dB<extra></extra>",
        )
    )
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis_title="seconds",
        yaxis_title="mel band",
    )
    return fig


def bars_figure(
    scores: dict[str, float], colors: dict[str, str], background: list[str]
) -> go.Figure:
    """The prompts' probabilities, best first; background prompts in grey."""
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    names = [name + (" (background)" if name in background else "") for name, _ in ranked]
    fig = go.Figure(
        go.Bar(
            x=[p for _, p in ranked],
            y=names,
            orientation="h",
            marker={
                "color": [
                    BACKGROUND_GREY if n in background else colors.get(n, "#9147FF")
                    for n, _ in ranked
                ]
            },
            text=[f"{p:.1%}" for _, p in ranked],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=60 + 36 * len(ranked),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed"},
    )
    return fig


def standing(value: float, prompt_cosines: dict[str, float]) -> str:
    """Where a text's cosine sits among the clip's cosines with the prompts, in words."""
    below = sum(c < value for c in prompt_cosines.values())
    ranked = sorted(prompt_cosines.values())
    return (
        f"Closer to this clip than {below} of the {len(ranked)} prompts "
        f"(their cosines run from {ranked[0]:.4f} to {ranked[-1]:.4f})."
    )


def reading(clap: Clap, seconds: float) -> str:
    """How the audio tower reads a clip of this length, in one line."""
    length = f"{clap.max_length_s:g} s"
    if seconds <= clap.max_length_s:
        how = f"it is padded to {length} ({clap.mel.padding})"
    elif clap.mel.fusion:
        how = f"it is read whole, shrunk to {length}, beside three {length} crops"
    else:
        how = f"it is cut into {length} pieces whose embeddings are averaged (the first shown)"
    return f"{seconds:.2f} s at {clap.sampling_rate:,} Hz; the model reads {length}, so {how}."


def model_card(clap: Clap) -> dict[str, str]:
    """What is listening: the checkpoint and how it runs here."""
    return {
        "Checkpoint": clap.name,
        "Parameters": f"{clap.n_parameters / 1e6:.1f} M ({clap.n_parameters:,})",
        "Device": str(clap.device),
        "Precision": clap.precision,
        "Sampling rate": f"{clap.sampling_rate:,} Hz",
        "Embedding size": str(clap.embedding_dim),
        "Clip length it reads": f"{clap.max_length_s:g} s",
        "Load time": f"{clap.load_s:.1f} s",
        "Published zero-shot": PUBLISHED_ZERO_SHOT.get(clap.name, "—"),
    }
