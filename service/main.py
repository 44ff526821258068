"""The FastAPI application: one model, shared by every request, and the routers over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from emotion.library.store import Store
from emotion.live import Monitors
from emotion.model.clap import Clap
from emotion.paths import hypeline_home
from service import errors
from service.config import ServeConfig
from service.dependencies import Service
from service.guard import Guard
from service.job_store import JobStore
from service.jobs import JobRunner
from service.routers import analyses, clips, monitors, posts, search, stream, system
from service.sources import ClientSources

DESCRIPTION = """Find the moments in audio by how they sound (CLAP, zero-shot).

Errors are `{"error": "one sentence"}`. When the server was started with an API key,
every `/api` path needs `Authorization: Bearer <key>`."""


def create_app(config: ServeConfig, clap: Clap) -> FastAPI:
    """The app over an already loaded model; the job queue starts with the app."""
    home = config.home or hypeline_home()
    store = Store(home)
    sources = ClientSources(config.media_roots, config.allow_private_urls)
    # One batcher for the model: classify and match requests, the WebSocket's windows,
    # queued analyses and live monitors all become its batches.
    live = Monitors(store)
    batcher = live.embedder(clap, max_batch=config.max_batch, wait_s=config.batch_wait_s)
    runner = JobRunner(batcher, store, JobStore(home), sources)
    svc = Service(config, clap, batcher, store, runner, sources, live)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        yield
        runner.close()
        live.close()

    app = FastAPI(title="Hypeline", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = svc
    errors.install(app)
    for module in (system, clips, analyses, posts, search, monitors, stream):
        app.include_router(module.router)
    app.include_router(system.health)
    app.add_middleware(Guard, api_key=config.api_key, max_body_bytes=config.max_upload_bytes)
    return app
