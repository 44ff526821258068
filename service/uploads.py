"""An uploaded clip → mono float32 PCM at the model's rate, decoded by ffmpeg off the loop."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from emotion.errors import AudioError
from emotion.media.audio import load_audio
from service.errors import ApiError

COPY_CHUNK_BYTES = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


async def decode_upload(upload: UploadFile, sampling_rate: int) -> np.ndarray:
    """The upload's audio; refusals name the client's file, never a path on this server."""
    return await run_in_threadpool(_decode, upload, sampling_rate)


def _decode(upload: UploadFile, sampling_rate: int) -> np.ndarray:
    name = client_name(upload.filename)
    with tempfile.TemporaryDirectory(prefix="hypeline-upload-") as folder:
        path = Path(folder) / name
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out, COPY_CHUNK_BYTES)
        if path.stat().st_size == 0:
            raise ApiError(400, f"The uploaded file {name} is empty; send an audio or video file.")
        try:
            return load_audio(path, sampling_rate)
        except AudioError as e:
            # ffmpeg's own words quote the file's path; the client knows only its name.
            message = str(e).replace(f"file:{path}", name).replace(str(path), name)
            raise AudioError(message.replace(folder, "")) from None


def client_name(filename: str | None) -> str:
    """A name for the temporary copy that is safe on disk and means something to the client."""
    base = Path(filename or "").name
    safe = _UNSAFE.sub("_", base).strip(" .")[:100]
    return safe or "upload"
