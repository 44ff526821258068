"""``POST /api/classify`` and ``POST /api/match``: one uploaded clip against texts."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from emotion.classify import Classification
from emotion.live.alerts import AlertSettings
from emotion.scoring.prompts import (
    DEFAULT_TEMPLATE,
    Prompts,
    parse_labels,
    zero_shot_probabilities,
)
from service.dependencies import Service, service
from service.errors import ApiError
from service.schemas import ClassificationOut, Match
from service.uploads import decode_upload

router = APIRouter(prefix="/api", tags=["clips"])

Audio = Annotated[UploadFile, File(description="a clip in any format ffmpeg reads")]


@router.post(
    "/classify",
    response_model=ClassificationOut,
    summary="Zero-shot probabilities of labels for one clip",
    description="The same numbers as `python -m emotion classify` for the same file.",
)
async def classify(
    svc: Annotated[Service, Depends(service)],
    audio: Audio,
    labels: Annotated[str, Form(description='comma-separated, e.g. "piano, guitar"')],
    template: Annotated[str, Form(max_length=500)] = DEFAULT_TEMPLATE,
    threshold: Annotated[
        float, Form(gt=0, lt=1, description="alert when the top score ≥ this")
    ] = AlertSettings.threshold,
) -> ClassificationOut:
    label_list = check_labels(svc, labels)
    prompts = await run_in_threadpool(Prompts.parse(label_list, (), template).fit, svc.clap)
    waveform = await decode_upload(audio, svc.clap.sampling_rate)
    vector = await asyncio.wrap_future(svc.batcher.submit(waveform))
    text = await run_in_threadpool(svc.batcher.embed_text, prompts.texts)
    row = zero_shot_probabilities(vector[None, :], text, svc.clap.logit_scale)[0]
    result = Classification.of(row, label_list)
    return ClassificationOut(
        top_label=result.top_label,
        scores={label: round(p, 4) for label, p in result.scores.items()},
        alert=AlertSettings(threshold=threshold).crosses(result.top_score),
        duration_s=round(waveform.size / svc.clap.sampling_rate, 3),
    )


@router.post("/match", response_model=Match, summary="Cosine similarity of a clip and a text")
async def match(
    svc: Annotated[Service, Depends(service)],
    audio: Audio,
    text: Annotated[str, Form(description='a description, e.g. "a dog barking"')],
) -> Match:
    (text,) = parse_labels([text], what="texts")
    await run_in_threadpool(svc.clap.check_prompts, [text])
    waveform = await decode_upload(audio, svc.clap.sampling_rate)
    vector = await asyncio.wrap_future(svc.batcher.submit(waveform))
    text_vector = (await run_in_threadpool(svc.batcher.embed_text, [text]))[0]
    return Match(similarity=round(float(vector @ text_vector), 4))


def check_labels(svc: Service, labels: str | list[str]) -> list[str]:
    """Parsed labels, within this server's per-request cap (413 beyond it)."""
    label_list = parse_labels(labels)
    if len(label_list) > svc.config.max_labels:
        raise ApiError(
            413,
            f"{len(label_list)} labels is more than this server scores per request "
            f"({svc.config.max_labels}); send fewer labels.",
        )
    return label_list
