"""``/api/monitors``: live streams followed as they happen, their alerts as Server-Sent Events.

A monitor belongs to the server process (``emotion.live.Monitors``) and shares the one
model's batcher with every request. Stopping it (``DELETE``) finishes its analysis, which
stays in the library like any VOD's. With ``chat`` it reads the channel's Twitch chat as
``python -m emotion live --chat`` does (``emotion.live.chat.ChatSettings``): each alert
carries chat's answer (``Alert.to_dict``'s ``chat``), the status the chat's state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from emotion.errors import HypelineError
from emotion.live import LiveSettings, Monitor
from emotion.live.chat import ChatSettings
from emotion.live.registry import MAX_MONITORS
from emotion.scoring.keywords import DEFAULT_KEYWORDS, check_keywords, parse_keywords
from emotion.scoring.prompts import check_prompts
from service.dependencies import Service, service
from service.errors import ApiError
from service.routers.clips import check_labels
from service.schemas import MonitorChat, MonitorCreated, MonitorRequest, MonitorStatus

router = APIRouter(prefix="/api/monitors", tags=["live monitors"])
Svc = Annotated[Service, Depends(service)]
EVENT_POLL_S = 0.5


@router.post(
    "",
    status_code=201,
    response_model=MonitorCreated,
    summary="Start following a live stream",
    description="Alerts as in `python -m emotion live`; follow them with "
    "GET /api/monitors/{id}/events.",
)
async def create(svc: Svc, request: MonitorRequest) -> MonitorCreated:
    labels, background = check_prompts(request.labels, request.background)
    check_labels(svc, labels)
    chat = _chat_settings(request)
    if sum(m.running for _, m in svc.monitors.items()) >= MAX_MONITORS:
        raise ApiError(429, f"{MAX_MONITORS} streams are followed already; stop one first.")
    for hook in request.webhooks:
        await run_in_threadpool(svc.sources.check, hook)  # no webhook into the server's network
    target = await run_in_threadpool(svc.sources.resolve, request.source)
    settings = LiveSettings.build(
        labels,
        background,
        template=request.template,
        window_s=request.window_s,
        hop_s=request.hop_s,
        threshold=request.threshold,
        cooldown_s=request.cooldown_s,
        give_up_after_s=request.give_up_after_s,
        realtime=request.realtime,
        record=request.record,
        webhooks=request.webhooks,
        webhook_secret=request.webhook_secret,
        chat=chat,
    )
    # Looking at the source (a playlist fetched, a page resolved) happens off the loop.
    # A link is fetched in Python, each connection checked (DNS rebinding): see emotion.live.hls.
    guard = None if svc.sources.allow_private_urls else frozenset[tuple[str, int]]()
    monitor_id, _ = await run_in_threadpool(
        partial(svc.monitors.start, guard=guard, limit=MAX_MONITORS), target, settings, svc.clap
    )
    return MonitorCreated(id=monitor_id)


@router.get("", response_model=list[MonitorStatus], summary="Every monitor, newest first")
async def list_all(svc: Svc) -> list[MonitorStatus]:
    return [_status(i, m) for i, m in svc.monitors.items()]


@router.get("/{monitor_id}", response_model=MonitorStatus, summary="A monitor's state")
async def get(svc: Svc, monitor_id: int) -> MonitorStatus:
    return _status(monitor_id, _monitor(svc, monitor_id))


@router.delete(
    "/{monitor_id}",
    status_code=204,
    summary="Stop a monitor",
    description="Its analysis is finished and kept in the library (exports, re-scoring).",
)
async def delete(svc: Svc, monitor_id: int) -> Response:
    _monitor(svc, monitor_id)
    await run_in_threadpool(svc.monitors.stop, monitor_id)
    return Response(status_code=204)


@router.get(
    "/{monitor_id}/events",
    summary="Scores and alerts as they happen (Server-Sent Events)",
    description="`event: scores` with `{start_s, scores: {prompt: probability}}` for each "
    "window, `event: alert` with the alert object (with `chat`, chat's answer, when the "
    "monitor reads a chat), `event: state` with `{state, message}`; the stream ends after "
    "the monitor does.",
    response_class=StreamingResponse,
)
async def events(svc: Svc, monitor_id: int) -> StreamingResponse:
    monitor = _monitor(svc, monitor_id)
    return StreamingResponse(_events(monitor), media_type="text/event-stream")


async def _events(monitor: Monitor) -> AsyncIterator[str]:
    """Everything new since the last look, every half second, until the monitor is done."""
    last_point_s, alerts_seen = -1.0, max(0, monitor.n_alerts - len(monitor.alerts))
    state: tuple[str, str] | None = None
    while True:
        running = monitor.running
        if (monitor.state, monitor.message) != state:
            state = (monitor.state, monitor.message)
            yield _event("state", {"state": monitor.state, "message": monitor.message})
        for point in list(monitor.timeline):
            if point.start_s > last_point_s:
                last_point_s = point.start_s
                scores = dict(zip(monitor.prompts, point.probabilities.tolist(), strict=True))
                yield _event("scores", {"start_s": point.start_s, "scores": scores})
        alerts = list(monitor.alerts)
        first_kept = monitor.n_alerts - len(alerts)
        for alert in alerts[max(0, alerts_seen - first_kept) :]:
            yield _event("alert", alert.to_dict())
        alerts_seen = monitor.n_alerts
        if not running:
            return
        await asyncio.sleep(EVENT_POLL_S)


def _event(kind: str, data: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _monitor(svc: Service, monitor_id: int) -> Monitor:
    monitor = svc.monitors.get(monitor_id)
    if monitor is None:
        raise ApiError(404, f"There is no monitor {monitor_id}; list them with GET /api/monitors.")
    return monitor


def _status(monitor_id: int, monitor: Monitor) -> MonitorStatus:
    chat = monitor.chat_now()
    return MonitorStatus(
        id=monitor_id,
        source=monitor.source,
        title=monitor.target.title if monitor.target is not None else None,
        state=monitor.state,
        message=monitor.message,
        error=monitor.error,
        running=monitor.running,
        analysis_id=monitor.record.id if monitor.record is not None else None,
        stream_s=round(monitor.stream_s, 3),
        alerts=monitor.n_alerts,
        gaps=[(round(a, 3), round(b, 3)) for a, b in monitor.gaps],
        labels=list(monitor.labels),
        chat=None if chat is None else MonitorChat(**asdict(chat)),
    )


def _chat_settings(request: MonitorRequest) -> ChatSettings | None:
    """``chat``: "twitch" (the channel of a twitch.tv link) or "twitch:CHANNEL", checked as
    the CLI's ``--chat`` is (``ChatSettings.of``); a refusal names the body's field."""
    if request.chat is None:
        if request.alert_needs_chat is not None:
            raise ApiError(
                422,
                "'alert_needs_chat' judges the chat's answer; add "
                '"chat": "twitch" (or "twitch:CHANNEL").',
            )
        if request.chat_keywords is not None:
            raise ApiError(
                422,
                "'chat_keywords' are counted in chat; add "
                '"chat": "twitch" (or "twitch:CHANNEL").',
            )
        return None
    given = request.chat_keywords
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    try:
        if given is not None:  # a list, or comma-separated as the analyses' query takes it
            keywords = parse_keywords(given) if isinstance(given, str) else check_keywords(given)
    except HypelineError as e:
        raise ApiError(422, f"{e} (chat_keywords)") from None
    try:
        return ChatSettings.of(
            request.chat,
            request.source,
            request.chat_lag_s,
            request.alert_needs_chat,
            keywords,
            option='"{}"',
        )
    except HypelineError as e:
        raise ApiError(422, f"{e} (chat)") from None
