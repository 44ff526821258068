"""The API's request and response bodies; their descriptions are the OpenAPI documentation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.chat.lag import LAG_DEFAULT_S, LAG_SEARCH_S
from emotion.export.post_settings import LAYOUTS, ReelSettings, ShortSettings
from emotion.live.alerts import AlertSettings
from emotion.live.settings import LiveSettings
from emotion.scoring.keywords import DEFAULT_KEYWORDS, MAX_KEYWORDS
from emotion.scoring.prompts import DEFAULT_BACKGROUND, DEFAULT_TEMPLATE

Rank = Literal["sound", "chat", "both"]  # emotion.chat.judge.RANKS


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


class ClassificationOut(BaseModel):
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
    chat: str | None = Field(
        default=None,
        max_length=4096,
        description="the VOD's chat replay: a path under the server's --media-root "
        "(TwitchDownloader, yt-dlp rechat or live_chat, chat-downloader JSON, or CSV), parsed "
        "once and stored with the analysis",
    )
    rank: Rank | None = Field(
        default=None,
        description="what orders highlights and what top_k keeps: sound, chat, or both "
        "(sound × a chat factor within ×0.5…×2); default both with chat, else sound",
    )


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


class ChatReactionOut(BaseModel):
    messages: int = Field(description="messages in the lag window after the moment")
    rate_vs_baseline: float = Field(description="their rate over the chat's usual (1: ordinary)")
    top: list[str] = Field(description="the most used emotes and keywords, most first")


class ChatOut(BaseModel):
    messages: int = Field(description="messages in the chat replay")
    lag_s: float = Field(description="how long after the sound chat reacts (estimated, 3–20 s)")
    format: str
    rank: str = Field(description="what ordered the highlights: sound, chat or both")


class HighlightOut(BaseModel):
    label: str
    start_s: float
    end_s: float
    peak_s: float
    score: float = Field(description="the peak probability")
    usual: float | None = Field(description="the label's median probability on this VOD")
    relative: float | None = Field(description="the peak in spreads above the usual level")
    why: str = Field(description='one line, e.g. "laughter 0.82 (×3.1 this stream\'s usual)"')
    chat: ChatReactionOut | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # absent without chat: responses as they always were
        description="chat's reaction, when the analysis has a chat replay",
    )


class Highlights(BaseModel):
    id: str
    labels: list[str]
    scale: str = Field(description="what the thresholds measure: absolute or relative")
    threshold: float
    thresholds: dict[str, float] = Field(description="per prompt, beside the threshold")
    duration_s: float
    highlights: list[HighlightOut]
    chat: ChatOut | None = Field(
        default=None, exclude_if=lambda v: v is None, description="the chat replay, when it has one"
    )


class SearchHit(BaseModel):
    analysis_id: int = Field(description="the library's id of the analysis (its VOD)")
    title: str
    start_s: float
    end_s: float
    score: float = Field(description="cosine similarity of the best window to the query")
    best_start_s: float = Field(description="where the best window of the moment starts")


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHit]


class MonitorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        description="a live channel or stream link yt-dlp resolves, an HLS .m3u8 link, or a "
        "path under --media-root read at 1× speed (realtime)",
        max_length=4096,
    )
    labels: list[str] | str = Field(description="moments to alert on")
    background: list[str] | str = Field(default=list(DEFAULT_BACKGROUND))
    template: str = Field(default=DEFAULT_TEMPLATE, max_length=500)
    window_s: float = Field(default=DEFAULT_WINDOW_S, gt=0, le=60)
    hop_s: float = Field(default=LiveSettings.hop_s, gt=0, le=60)
    threshold: float = Field(default=AlertSettings.threshold, gt=0, lt=1)
    cooldown_s: float = Field(default=AlertSettings.cooldown_s, ge=0, le=3600)
    give_up_after_s: float = Field(default=LiveSettings.give_up_after_s, gt=0, le=86400)
    record: bool = Field(default=True, description="keep the audio (Opus) for clips later")
    realtime: bool = Field(default=False, description="a local file read at 1× speed")
    webhooks: list[str] = Field(default=[], max_length=5)
    webhook_secret: str | None = Field(default=None, max_length=500)
    chat: str | None = Field(
        default=None,
        max_length=100,
        description='read the channel\'s Twitch chat (read-only, anonymous): "twitch" (the '
        'channel of a twitch.tv/<channel> source) or "twitch:CHANNEL"; each alert then carries '
        "chat's answer and is sent once chat has had its time to answer (the lag + 10 s)",
    )
    chat_lag_s: float = Field(
        default=LAG_DEFAULT_S,
        ge=0,
        le=LAG_SEARCH_S,
        allow_inf_nan=False,
        description="chat's answer to an alert is its 10 s starting this long after the moment",
    )
    alert_needs_chat: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="alert only when chat ran at least this many times its usual rate in that "
        "span (an alert whose chat was not read is sent); needs chat",
    )
    chat_keywords: list[str] | str | None = Field(
        default=None,
        description="the emotes, words and two-word phrases counted in chat, a list or "
        f"comma-separated (at most {MAX_KEYWORDS}); needs chat; default: "
        + ", ".join(DEFAULT_KEYWORDS),
    )


class MonitorCreated(BaseModel):
    id: int


class MonitorChat(BaseModel):
    """``emotion.live.chat_follower.ChatNow``: a monitor's chat at a glance."""

    channel: str
    state: str = Field(
        description="connecting, connected, reconnecting or gave up; closed once the monitor ended"
    )
    connected: bool
    messages: int = Field(description="messages read since the monitor started")
    messages_per_10s: int | None = Field(
        description="messages in the last 10 s of stream time; null before any audio"
    )
    usual_per_10s: float | None = Field(description="chat's usual messages per 10 s")


class MonitorStatus(BaseModel):
    id: int
    source: str
    title: str | None = Field(description="the stream's title, once known")
    state: str = Field(description="connecting, connected, reconnecting, ended, gave up, …")
    message: str
    error: str | None
    running: bool
    analysis_id: int | None = Field(description="the library's analysis, once audio came")
    stream_s: float = Field(description="stream time heard so far")
    alerts: int = Field(description="alerts so far")
    gaps: list[tuple[float, float]]
    labels: list[str]
    chat: MonitorChat | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # absent without chat: statuses as they always were
        description="the channel's chat, when the monitor reads one",
    )


# Posts: the library's settings (emotion.export.shorts, emotion.export.reel) check the
# values, so a refusal is the library's one sentence; the models only shape the body.
class ShortsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: str = Field(
        default=ShortSettings.layout,
        max_length=20,
        description=f"{', '.join(LAYOUTS)}: the frame over a blurred copy of itself, a 9:16 "
        "crop, or the face cam on top of the gameplay (needs facecam)",
    )
    max_s: float = Field(default=ShortSettings.max_s, description="the longest short, 3–180 s")
    crop_x: float | None = Field(
        default=None, description="crop: the window's place, 0 (left) to 1 (right); default centre"
    )
    facecam: tuple[int, int, int, int] | None = Field(
        default=None, description="split: the face cam's [x, y, width, height] in video pixels"
    )
    title: str = Field(
        default=ShortSettings.title,
        max_length=200,
        description='the title line drawn on the short, with {label} and {time}; "" for none',
    )

    def settings(self) -> ShortSettings:
        """The library's settings, checked (``ShortsError`` names the field)."""
        return ShortSettings(
            layout=self.layout,
            max_s=self.max_s,
            crop_x=self.crop_x,
            facecam=self.facecam,
            title=self.title,
        ).check()


class ReelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    length_s: float = Field(default=ReelSettings.length_s, description="the reel's longest length")
    spacing_s: float = Field(
        default=ReelSettings.spacing_s, description="at most one moment per this much of the VOD"
    )

    def settings(self) -> ReelSettings:
        """The library's settings, checked (``ReelError`` names the field)."""
        return ReelSettings(length_s=self.length_s, spacing_s=self.spacing_s).check()


class PostsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shorts: ShortsOptions | None = Field(
        default=None,
        description="a vertical 1080×1920 short per highlight (shorts/); {} for the defaults",
    )
    reel: ReelOptions | None = Field(
        default=None,
        description="reel.mp4: the best highlights joined by crossfades (16:9), and its own "
        "YouTube chapters (reel-chapters.txt) when YouTube would take them; {} for the defaults",
    )
    thumbnails: bool = Field(default=False, description="a JPEG still per highlight (thumbnails/)")


class PostsCreated(BaseModel):
    id: str


class PostFile(BaseModel):
    name: str = Field(description='its path in the zip, e.g. "shorts/01-laughter-0-01-05.mp4"')
    bytes: int
    url: str = Field(description="where to download it")


class PostsStatus(BaseModel):
    id: str
    analysis: str = Field(description="the analysis the posts are of")
    status: Literal["queued", "running", "complete", "failed"]
    stage: str | None = Field(description="thumbnails, shorts, reel or zip, while running")
    progress: float | None = Field(description="fraction of the whole render, 0–1")
    eta_s: float | None = Field(description="estimated seconds left, while running")
    message: str | None = Field(description='what is being made, e.g. "1/3 shorts: 01-….mp4"')
    error: str | None = Field(description="why it failed, in one sentence")
    notes: list[str] = Field(description="what the render noted (e.g. no chapters, and why)")
    highlights: int = Field(description="the highlights rendered (the ones the exports hold)")
    files: list[PostFile] = Field(description="every file made, once complete")
    zip_url: str | None = Field(description="all the files as one zip, once complete")
    created: float = Field(description="Unix time")
