"""The API's request and response bodies; their descriptions are the OpenAPI documentation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from emotion.analysis import DEFAULT_BACKGROUND, DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.scoring import DEFAULT_TEMPLATE


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ModelInfo(BaseModel):
    checkpoint: str = Field(description="hub id or folder the weights came from")
    device: str
    precision: str
    state: Literal["loaded"] = Field(description="the model is loaded once, when the server starts")
    sampling_rate: int
    embedding_dim: int
    max_batch: int = Field(description="clips per forward pass of the micro-batcher (1: off)")
    batches: int = Field(description="forward passes of the micro-batcher so far")
    clips: int = Field(description="clips embedded by the micro-batcher so far")


class Classification(BaseModel):
    top_label: str
    scores: dict[str, float] = Field(
        description="zero-shot probability of each label, in the order given (4 decimals)"
    )
    alert: bool = Field(description="the top score is at least the threshold")
    duration_s: float = Field(description="length of the decoded audio, s")


class Match(BaseModel):
    similarity: float = Field(description="cosine similarity of the clip and the text (4 decimals)")


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        description="an http(s) URL of a video page or file, or a path under the server's "
        "--media-root",
        max_length=4096,
    )
    labels: list[str] | str = Field(
        description='moments to find: a list, or comma-separated text ("win, fail")'
    )
    background: list[str] | str = Field(
        default=list(DEFAULT_BACKGROUND),
        description="scored but never highlighted, so ordinary audio has somewhere to go",
    )
    template: str = Field(default=DEFAULT_TEMPLATE, max_length=500)
    window_s: float = Field(default=DEFAULT_WINDOW_S, gt=0, le=60)
    hop_s: float = Field(default=DEFAULT_HOP_S, gt=0, le=60)
    audio_track: int | None = Field(default=None, ge=1, description="numbered from 1")


class AnalysisCreated(BaseModel):
    id: str


class AnalysisStatus(BaseModel):
    id: str
    source: str
    status: Literal["queued", "running", "complete", "failed"]
    progress: float | None = Field(description="fraction of the windows embedded, 0–1")
    eta_s: float | None = Field(description="estimated seconds left, while running")
    error: str | None = Field(description="why it failed, in one sentence")
    labels: list[str]
    background: list[str]
    template: str
    window_s: float
    hop_s: float
    title: str | None = None
    duration_s: float | None = None
    created: float = Field(description="Unix time")


class HighlightOut(BaseModel):
    label: str
    start_s: float
    end_s: float
    peak_s: float
    score: float


class Highlights(BaseModel):
    id: str
    labels: list[str]
    threshold: float
    duration_s: float
    highlights: list[HighlightOut]
