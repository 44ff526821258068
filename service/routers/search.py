"""``/api/search``: the best moments across the library, for a text or an example clip."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_template
from emotion.search import DEFAULT_MIN_SCORE, DEFAULT_TOP, MAX_TOP, Hit, search, text_query
from emotion.search import Query as SearchQuery
from service.dependencies import Service, service
from service.schemas import SearchHit, SearchResults
from service.uploads import decode_upload

router = APIRouter(prefix="/api/search", tags=["search"])
Svc = Annotated[Service, Depends(service)]
Top = Annotated[int, Query(ge=1, le=MAX_TOP, description="how many moments")]
Vods = Annotated[list[int] | None, Query(description="only these analyses (library ids)")]
MinScore = Annotated[
    float, Query(ge=-1, le=1, description="leave out moments whose best cosine is lower")
]


@router.get(
    "",
    response_model=SearchResults,
    summary="The moments that best match a text, across every analysis of the model",
    description="The text goes through the prompt template, as labels do. Overlapping "
    "windows of one VOD come back as one moment with the best cosine and the span.",
)
async def by_text(
    svc: Svc,
    q: Annotated[str, Query(max_length=500, description='e.g. "crowd screaming"')],
    top: Top = DEFAULT_TOP,
    vod: Vods = None,
    template: Annotated[str, Query(max_length=500)] = DEFAULT_TEMPLATE,
    min_score: MinScore = DEFAULT_MIN_SCORE,
) -> SearchResults:
    check_template(template)
    query = await run_in_threadpool(text_query, svc.clap, q, template)
    return await _search(svc, query, top, vod, min_score)


@router.post(
    "",
    response_model=SearchResults,
    summary="The moments that sound most like an example clip",
    description="The clip is embedded as /api/classify embeds it.",
)
async def by_example(
    svc: Svc,
    audio: Annotated[UploadFile, File(description="a clip in any format ffmpeg reads")],
    top: Annotated[int, Form(ge=1, le=MAX_TOP)] = DEFAULT_TOP,
    min_score: Annotated[float, Form(ge=-1, le=1)] = DEFAULT_MIN_SCORE,
) -> SearchResults:
    waveform = await decode_upload(audio, svc.clap.sampling_rate)
    vector = await asyncio.wrap_future(svc.batcher.submit(waveform))
    query = SearchQuery(vector, f"like {audio.filename or 'the clip'}")
    return await _search(svc, query, top, None, min_score)


async def _search(
    svc: Service, query: SearchQuery, top: int, vods: list[int] | None, min_score: float
) -> SearchResults:
    hits = await run_in_threadpool(
        search, svc.store, query, [svc.clap.name], vods, None, None, top, None, min_score
    )
    return SearchResults(query=query.description, hits=[_hit(h) for h in hits])


def _hit(hit: Hit) -> SearchHit:
    return SearchHit(
        analysis_id=hit.analysis_id,
        title=hit.title,
        start_s=round(hit.start_s, 3),
        end_s=round(hit.end_s, 3),
        score=round(hit.score, 4),
        best_start_s=round(hit.best_start_s, 3),
    )
