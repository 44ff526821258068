"""``WS /api/stream``: PCM in, scores out each time a window fills.

Protocol (also in the README):

1. The client sends a JSON text message: ``{"sample_rate": 48000, "format": "float32" |
   "int16", "labels": "a, b"}``, optionally ``background``, ``template``, ``window_s``,
   ``hop_s``, ``threshold`` (defaults as ``analyze``).
2. The server answers ``{"type": "ready", ...}``.
3. The client sends binary frames of little-endian mono PCM, of any size.
4. The server sends ``{"type": "window", "index", "start_s", "scores", "top_label",
   "alert"}`` per window, on the same grid as ``analyze`` (``iter_windows``).
5. The client sends ``{"type": "end"}``; the server scores the tail window as ``analyze``
   does, sends ``{"type": "end", "windows": n}`` and closes. Refusals are ``{"type":
   "error", "error": sentence}`` and then a close.

At the model's rate (48 kHz) the windows and numbers equal ``analyze``'s on the same audio;
other rates are resampled here (soxr), where ``analyze`` uses ffmpeg's resampler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import soxr
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from emotion.analysis import DEFAULT_HOP_S, DEFAULT_WINDOW_S
from emotion.errors import HypelineError
from emotion.live.alerts import AlertSettings
from emotion.live.scorer import WindowScorer
from emotion.scoring.prompts import DEFAULT_BACKGROUND, DEFAULT_TEMPLATE, Prompts
from emotion.scoring.windows import check_grid, iter_windows
from service.dependencies import Service, ws_service

router = APIRouter(prefix="/api", tags=["stream"])

MAX_FRAME_BYTES = 4 * 1024 * 1024  # ~20 s of 48 kHz float32: plenty for any live frame
QUEUED_FRAMES = 32  # frames waiting for the windower: a fast client is slowed, not buffered
DTYPES = {"float32": ("<f4", 1.0), "int16": ("<i2", 32768.0)}


class StreamStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_rate: int = Field(ge=8000, le=192000)
    format: str = Field(default="float32", pattern="^(float32|int16)$")
    labels: list[str] | str
    background: list[str] | str = list(DEFAULT_BACKGROUND)
    template: str = DEFAULT_TEMPLATE
    window_s: float = Field(default=DEFAULT_WINDOW_S, gt=0, le=60)
    hop_s: float = Field(default=DEFAULT_HOP_S, gt=0, le=60)
    threshold: float = Field(default=AlertSettings.threshold, gt=0, lt=1)


class StreamRefused(Exception):
    """A client mistake, told to the client before the socket closes."""


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    svc = ws_service(websocket)
    await websocket.accept()
    try:
        await _serve(svc, websocket)
    except WebSocketDisconnect:
        return
    except (StreamRefused, HypelineError) as e:
        await websocket.send_json({"type": "error", "error": str(e)})
        await websocket.close(code=1003)


async def _serve(svc: Service, websocket: WebSocket) -> None:
    start = _start(await websocket.receive())
    prompts = Prompts.parse(start.labels, start.background, start.template)
    if len(prompts.labels) > svc.config.max_labels:
        raise StreamRefused(f"Send at most {svc.config.max_labels} labels.")
    check_grid(start.window_s, start.hop_s)
    scorer = await run_in_threadpool(WindowScorer, svc.batcher, prompts)
    alerts = AlertSettings(threshold=start.threshold)
    rate = svc.clap.sampling_rate
    await websocket.send_json(
        {
            "type": "ready",
            "sample_rate": rate,
            "window_s": start.window_s,
            "hop_s": start.hop_s,
            "prompts": scorer.prompts,
        }
    )

    loop = asyncio.get_running_loop()
    frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUED_FRAMES)
    out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    resample = _resampler(start.sample_rate, rate)

    def feed() -> Iterator[np.ndarray]:
        while (frame := frames.get()) is not None:
            yield frame

    def work() -> None:
        n = 0
        try:
            for window in iter_windows(feed(), rate, start.window_s, start.hop_s):
                vector = svc.batcher.submit(window.samples).result()
                row = scorer.probabilities(vector[None, :])[0]
                top_label, top_score = scorer.top(row)
                scores = zip(scorer.prompts, row.tolist(), strict=True)
                message = {
                    "type": "window",
                    "index": window.index,
                    "start_s": window.start_s,
                    "scores": {p: round(s, 4) for p, s in scores},
                    "top_label": top_label,
                    "alert": alerts.crosses(top_score),
                }
                loop.call_soon_threadsafe(out.put_nowait, message)
                n += 1
        finally:
            loop.call_soon_threadsafe(out.put_nowait, {"type": "end", "windows": n})

    async def send_all() -> None:
        while (message := await out.get()) is not None:
            await websocket.send_json(message)
            if message["type"] == "end":
                return

    worker = threading.Thread(target=work, daemon=True, name="hypeline-stream")
    worker.start()
    sender = asyncio.create_task(send_all())
    dtype, scale = DTYPES[start.format]
    try:
        await _receive(websocket, frames, resample, dtype, scale)
    except BaseException:
        sender.cancel()  # the client is gone or was refused: nothing more is sent
        raise
    finally:
        await run_in_threadpool(_end, frames)
    await sender
    await websocket.close()


async def _receive(
    websocket: WebSocket,
    frames: queue.Queue[np.ndarray | None],
    resample: Callable[..., np.ndarray],
    dtype: str,
    scale: float,
) -> None:
    """Frames to the windower until the client says end."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect()
        if message.get("bytes") is not None:
            frame = _pcm(message["bytes"], dtype, scale)
            await run_in_threadpool(frames.put, resample(frame))
        elif _is_end(message.get("text")):
            tail = resample(np.zeros(0, np.float32), last=True)
            if tail.size:
                await run_in_threadpool(frames.put, tail)
            break
        else:
            raise StreamRefused(
                'After the first message, send binary PCM frames, then {"type": "end"}.'
            )


def _end(frames: queue.Queue[np.ndarray | None]) -> None:
    """Tell the windower the audio is over; a worker that died is not waited for."""
    with contextlib.suppress(queue.Full):
        frames.put(None, timeout=30)


def _start(message: Mapping[str, Any]) -> StreamStart:
    raw = message.get("text")
    if raw is None:
        raise StreamRefused(
            'Start with a JSON text message, e.g. {"sample_rate": 48000, "format": "float32", '
            '"labels": "cheering, laughter"}.'
        )
    try:
        return StreamStart.model_validate_json(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise StreamRefused(
            f"The first message is not a valid start ({where or 'JSON'}: {first['msg']}); "
            "see the protocol in the README."
        ) from None


def _is_end(text: str | None) -> bool:
    if text is None:
        return False
    try:
        return bool(json.loads(text) == {"type": "end"})
    except ValueError:
        return False


def _pcm(data: bytes, dtype: str, scale: float) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    if len(data) > MAX_FRAME_BYTES:
        raise StreamRefused(f"A frame may hold at most {MAX_FRAME_BYTES} bytes; send smaller ones.")
    if len(data) % width:
        raise StreamRefused(
            f"A frame of {len(data)} bytes is not whole {width}-byte samples; send mono PCM "
            "in the declared format."
        )
    samples = np.frombuffer(data, dtype=dtype).astype(np.float32) / np.float32(scale)
    # As stream_audio does for files: NaN/Inf are silence.
    return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)


def _resampler(from_rate: int, to_rate: int) -> Callable[..., np.ndarray]:
    if from_rate == to_rate:
        return lambda x, last=False: x
    stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32")
    return lambda x, last=False: stream.resample_chunk(x, last=last).astype(np.float32)
