"""What every request shares: the one model, its batcher, the library, the job queue and the
live monitors."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, WebSocket

from emotion.library.store import Store
from emotion.live import Monitors
from emotion.model.batcher import Batcher
from emotion.model.clap import Clap
from service.config import ServeConfig
from service.jobs import JobRunner
from service.sources import ClientSources


@dataclass
class Service:
    config: ServeConfig
    clap: Clap
    batcher: Batcher
    store: Store
    runner: JobRunner
    sources: ClientSources
    monitors: Monitors


def service(request: Request) -> Service:
    """The dependency every route takes (``Depends(service)``)."""
    svc: Service = request.app.state.service
    return svc


def ws_service(websocket: WebSocket) -> Service:
    svc: Service = websocket.app.state.service
    return svc
