"""The posts' sound: loudnorm's two passes to −14 LUFS, −1 dBTP (what the platforms play
at) — the first measures a stretch (``measure_loudness``), the second normalises it
linearly inside ``audio_chain``, which also resamples to 48 kHz stereo and fades in and out.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from emotion.export.ffmpeg_tools import SAMPLE_RATE, run_ffmpeg
from emotion.media.audio import ffmpeg_exe

FADE_S = 0.3
TARGET_LUFS = -14.0
TARGET_TP_DB = -1.0
TARGET_LRA = 20.0  # the widest ffmpeg 5.1 accepts: streams swing; linear gain keeps them


def measure_loudness(
    path: Path, audio_track: int, start_s: float, duration_s: float
) -> dict[str, float] | None:
    """loudnorm's first pass over the stretch: its measured values, None when silent."""
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-ss",
        f"{start_s:.3f}",
        "-t",
        f"{duration_s:.3f}",
        "-i",
        f"file:{path}",
        "-map",
        f"0:a:{audio_track - 1}",
        "-af",
        f"loudnorm=I={TARGET_LUFS}:TP={TARGET_TP_DB}:LRA={TARGET_LRA}:print_format=json",
        "-f",
        "null",
        "-",
    ]
    stderr = run_ffmpeg(cmd, f"ffmpeg could not measure the loudness of {path.name}")
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if found is None:
        return None
    values = json.loads(found.group(0))
    try:
        measured = {
            k: float(values[k])
            for k in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
        }
    except (KeyError, ValueError):
        return None
    if not all(math.isfinite(v) for v in measured.values()) or measured["input_i"] < -70:
        return None  # silence: nothing to normalise
    return measured


def audio_chain(loudness: dict[str, float] | None, duration_s: float) -> str:
    """The sound's filters: loudnorm's second pass (linear), 48 kHz stereo, the fades."""
    steps = []
    if loudness is not None:
        steps.append(
            f"loudnorm=I={TARGET_LUFS}:TP={TARGET_TP_DB}:LRA={TARGET_LRA}"
            f":measured_I={loudness['input_i']}:measured_TP={loudness['input_tp']}"
            f":measured_LRA={loudness['input_lra']}:measured_thresh={loudness['input_thresh']}"
            f":offset={loudness['target_offset']}:linear=true"
        )
    fade_s = min(FADE_S, duration_s / 4)
    steps += [
        f"aresample={SAMPLE_RATE}",  # loudnorm works (and hands out) at 192 kHz
        "aformat=channel_layouts=stereo",
        "asetpts=PTS-STARTPTS",
        f"afade=t=in:st=0:d={fade_s:.3f}",
        f"afade=t=out:st={max(0.0, duration_s - fade_s):.3f}:d={fade_s:.3f}",
    ]
    return ",".join(steps)
