"""``/api/analyses``: queue a VOD, follow it, re-score its stored embeddings, export it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from emotion import pipeline, pipeline_export
from emotion.analysis import Analysis
from emotion.export import FILENAMES, FORMATS
from emotion.scoring.highlights import Highlight, HighlightSettings, parse_thresholds
from emotion.scoring.keywords import DEFAULT_KEYWORDS, parse_keywords
from emotion.scoring.prompts import Prompts
from emotion.scoring.windows import check_grid
from service.dependencies import Service, service
from service.errors import ApiError
from service.job_store import Job
from service.routers.clips import check_labels
from service.schemas import (
    AnalysisCreated,
    AnalysisRequest,
    AnalysisStatus,
    ChatOut,
    ChatReactionOut,
    HighlightOut,
    Highlights,
    Rank,
)

router = APIRouter(prefix="/api/analyses", tags=["analyses"])
Svc = Annotated[Service, Depends(service)]

HIGHLIGHTS = HighlightSettings()  # the defaults, once
Scale = Literal["absolute", "relative"]
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "chapters": "text/plain",
    "edl": "text/plain",
    "fcpxml": "application/xml",
    "srt": "application/x-subrip",
}


@router.post(
    "",
    status_code=202,
    response_model=AnalysisCreated,
    summary="Queue the analysis of a VOD (URL, or a path under --media-root)",
    description="The job runs in the background, one at a time per model, and survives a "
    "restart of the server. Follow it with GET /api/analyses/{id}.",
)
async def create(svc: Svc, request: AnalysisRequest) -> AnalysisCreated:
    prompts = Prompts.parse(request.labels, request.background, request.template)
    check_labels(svc, list(prompts.labels))
    check_grid(request.window_s, request.hop_s)
    await run_in_threadpool(prompts.fit, svc.clap)
    await run_in_threadpool(svc.sources.check, request.source)  # resolves the host: off the loop
    chat = None
    if request.chat is not None:
        chat = await run_in_threadpool(svc.sources.chat_file, request.chat)  # not chat: refused
    if len(await run_in_threadpool(svc.runner.jobs.active)) >= svc.config.max_jobs:
        raise ApiError(
            429,
            f"{svc.config.max_jobs} analyses are already queued or running; wait for one "
            "to finish, then ask again.",
        )
    job = await run_in_threadpool(
        svc.runner.submit,
        Job(
            id="",
            source=request.source.strip(),
            labels=list(prompts.labels),
            background=list(prompts.background),
            template=request.template,
            window_s=request.window_s,
            hop_s=request.hop_s,
            audio_track=request.audio_track,
            chat=None if chat is None else str(chat),
            rank=request.rank,
        ),
    )
    return AnalysisCreated(id=job.id)


@router.get("", response_model=list[AnalysisStatus], summary="Every analysis, oldest first")
async def list_all(svc: Svc) -> list[AnalysisStatus]:
    def statuses() -> list[AnalysisStatus]:
        return [_status(svc, job) for job in svc.runner.jobs.all()]

    return await run_in_threadpool(statuses)


@router.get("/{job_id}", response_model=AnalysisStatus, summary="Status, progress and ETA")
async def get(svc: Svc, job_id: str) -> AnalysisStatus:
    return await run_in_threadpool(_status, svc, await _job(svc, job_id))


@router.delete(
    "/{job_id}", status_code=204, summary="Forget an analysis (a running one is stopped)"
)
async def delete(svc: Svc, job_id: str) -> Response:
    job = await _job(svc, job_id)
    await run_in_threadpool(svc.runner.jobs.delete, job.id)
    svc.runner.cancel(job.id)  # stored windows stay: the same VOD again resumes from them
    return Response(status_code=204)


def highlight_settings(
    scale: Annotated[
        Scale,
        Query(
            description="absolute: probabilities; relative: spreads "
            "above this VOD's usual level per prompt"
        ),
    ] = "absolute",
    threshold: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="in the scale's units (default 0.5 absolute, 4 "
            'relative); per prompt: "laughter=0.4, jump scare scream=0.7", or both: "0.5, laughter=0.4"',
        ),
    ] = None,
    min_duration_s: Annotated[float, Query(ge=0)] = HIGHLIGHTS.min_duration_s,
    merge_gap_s: Annotated[float, Query(ge=0)] = HIGHLIGHTS.merge_gap_s,
    smoothing_s: Annotated[float, Query(ge=0)] = HIGHLIGHTS.smoothing_s,
    top_k: Annotated[int | None, Query(ge=1)] = HIGHLIGHTS.top_k,
) -> HighlightSettings:
    """How probabilities become highlights, from the query (the library's defaults)."""
    default, per_prompt = parse_thresholds(threshold or "")
    rules = HighlightSettings.on_scale(
        scale,
        **({"threshold": default} if default is not None else {}),
        per_prompt=per_prompt,
        min_duration_s=min_duration_s,
        merge_gap_s=merge_gap_s,
        smoothing_s=smoothing_s,
        top_k=top_k,
    )
    rules.check()
    return rules


Labels = Annotated[str | None, Query(description="comma-separated; default: the job's")]
Rules = Annotated[HighlightSettings, Depends(highlight_settings)]


@dataclass(frozen=True)
class ChatRules:
    """How a chat replay judges the highlights, from the query."""

    rank: str | None = None
    chat_moments: bool = False
    chat_keywords: tuple[str, ...] = DEFAULT_KEYWORDS


def chat_rules(
    rank: Annotated[
        Rank | None,
        Query(description="sound, chat or both; default: the job's (both with chat, else sound)"),
    ] = None,
    chat_moments: Annotated[
        bool, Query(description="also report chat spikes with no sound behind them")
    ] = False,
    chat_keywords: Annotated[
        str | None,
        Query(
            description="the emotes, words and two-word phrases counted in chat, "
            "comma-separated (at most 50), counted from the stored chat; default: "
            + ", ".join(DEFAULT_KEYWORDS)
        ),
    ] = None,
) -> ChatRules:
    keywords = DEFAULT_KEYWORDS if chat_keywords is None else parse_keywords(chat_keywords)
    return ChatRules(rank, chat_moments, keywords)


Chat = Annotated[ChatRules, Depends(chat_rules)]


@router.get(
    "/{job_id}/highlights",
    response_model=Highlights,
    summary="Highlights, re-scored instantly from the stored embeddings",
    description="Labels and highlight settings may differ from those the analysis was queued "
    "with: only the stored window embeddings are read, never the audio. Moments kept by hand "
    "(a search hit added to the highlights) are among them, as in every export.",
)
async def highlights(
    svc: Svc, job_id: str, rules: Rules, chat: Chat, labels: Labels = None
) -> Highlights:
    analysis = await _scored(svc, job_id, labels, rules, chat)
    summary = analysis.chat
    return Highlights(
        id=job_id,
        labels=analysis.labels,
        scale=rules.scale,
        threshold=rules.threshold,
        thresholds=dict(rules.per_prompt),
        duration_s=round(analysis.duration_s, 3),
        highlights=[
            HighlightOut(
                label=h.label,
                start_s=h.start_s,
                end_s=h.end_s,
                peak_s=h.peak_s,
                score=round(h.score, 4),
                usual=None if h.usual is None else round(h.usual, 4),
                relative=None if h.relative is None else round(h.relative, 2),
                why=h.why(),
                chat=_reaction(h),
            )
            for h in analysis.highlights
        ],
        chat=None
        if summary is None
        else ChatOut(
            messages=summary.messages,
            lag_s=round(summary.lag_s, 3),
            format=summary.format,
            rank=summary.rank,
        ),
    )


def _reaction(h: Highlight) -> ChatReactionOut | None:
    if h.chat is None:
        return None
    return ChatReactionOut(
        messages=h.chat.messages,
        rate_vs_baseline=round(h.chat.rate_vs_baseline, 2),
        top=list(h.chat.top),
    )


@router.get(
    "/{job_id}/exports/{fmt}",
    summary="One export file: json, csv, chapters, edl, fcpxml or srt",
    description="The highlights the exports hold: the kept ones when some are kept, else all "
    "but the rejected ones, as the CLI and the dashboard export them.",
    responses={200: {"content": {t: {} for t in set(MEDIA_TYPES.values())}}},
)
async def export(
    svc: Svc, job_id: str, fmt: str, rules: Rules, chat: Chat, labels: Labels = None
) -> Response:
    if fmt not in FORMATS:
        raise ApiError(404, f"Unknown export format {fmt!r}; choose from {', '.join(FORMATS)}.")
    analysis = await _scored(svc, job_id, labels, rules, chat)
    files, _ = await run_in_threadpool(pipeline_export.export_files, analysis, svc.store, [fmt])
    return Response(
        files[fmt],
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{FILENAMES[fmt]}"'},
    )


async def _job(svc: Service, job_id: str) -> Job:
    job = await run_in_threadpool(svc.runner.jobs.get, job_id)
    if job is None:
        raise ApiError(404, f"There is no analysis {job_id!r}; list them with GET /api/analyses.")
    return job


async def _scored(
    svc: Service, job_id: str, labels: str | None, rules: HighlightSettings, chat: ChatRules
) -> Analysis:
    job = await _job(svc, job_id)
    if job.status != "complete" or job.analysis_id is None:
        raise ApiError(
            409,
            f"The analysis {job_id} is {job.status}, not complete; wait for it to finish "
            "(GET /api/analyses/{id} shows its progress).",
        )
    prompts = Prompts.parse(job.labels, job.background, job.template)
    if labels is not None:
        prompts = prompts.with_labels(labels)
        check_labels(svc, list(prompts.labels))
        await run_in_threadpool(prompts.fit, svc.clap)
    settings = pipeline.Settings(
        prompts,
        rules,
        rank=chat.rank or job.rank,
        chat_moments=chat.chat_moments,
        chat_keywords=chat.chat_keywords,
    ).check()

    def rescore() -> Analysis:
        record = svc.store.analysis(job.analysis_id)  # type: ignore[arg-type]
        return pipeline.moments(record, svc.store, svc.clap, settings)

    return await run_in_threadpool(rescore)


def _status(svc: Service, job: Job) -> AnalysisStatus:
    """The job as clients see it (reads the library: call it off the event loop)."""
    progress = svc.runner.progress.get(job.id)
    fraction = 1.0 if job.status == "complete" else (progress.fraction if progress else None)
    duration_s = None
    if job.status == "complete" and job.analysis_id is not None:
        duration_s = svc.store.analysis(job.analysis_id).duration_s
    return AnalysisStatus(
        id=job.id,
        source=job.source,
        status=job.status,  # type: ignore[arg-type]
        progress=fraction,
        eta_s=progress.eta_s if progress else None,
        error=job.error,
        labels=job.labels,
        background=job.background,
        template=job.template,
        window_s=job.window_s,
        hop_s=job.hop_s,
        title=job.title,
        duration_s=duration_s,
        created=job.created,
    )
