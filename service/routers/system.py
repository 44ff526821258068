"""``/healthz`` and ``/api/model``: is it up, and what is loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from service.dependencies import Service, service
from service.schemas import Health, ModelInfo

health = APIRouter(tags=["system"])
router = APIRouter(prefix="/api", tags=["system"])


@health.get("/healthz", response_model=Health, summary="The server is up and answering")
async def healthz() -> Health:
    return Health()


@router.get("/model", response_model=ModelInfo, summary="The loaded checkpoint")
async def model(svc: Annotated[Service, Depends(service)]) -> ModelInfo:
    clap = svc.clap
    return ModelInfo(
        checkpoint=clap.name,
        device=str(clap.device),
        precision=clap.precision,
        state="loaded",
        sampling_rate=clap.sampling_rate,
        embedding_dim=clap.embedding_dim,
        max_batch=svc.batcher.max_batch,
        batches=svc.batcher.batches,
        clips=svc.batcher.clips,
    )
