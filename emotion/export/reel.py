"""``reel.mp4``: the best highlights of a VOD, one after another, as one video to post.

The highlights are taken best score first, each at most ``MAX_PART_S`` long (cut around
its peak, widened to 3 s like a short), skipping any within ``spacing_s`` of one already
taken (so one long fight does not fill the reel) until the reel is ``length_s`` long;
then they play in the VOD's order, each joined to the next by a 0.5 s crossfade (``xfade``
and ``acrossfade``). The frame is 16:9 at the source's size (the picture letterboxed or
pillarboxed into it), or 1920×1080 with the sound's waveform for an audio-only source;
H.264 yuv420p ``+faststart``, AAC 48 kHz stereo, the sound normalised like a short's (two
``loudnorm`` passes over the whole reel, −14 LUFS, −1 dBTP).

``reel-chapters.txt`` holds YouTube chapters of the reel itself, one per part, when
they make a list YouTube accepts (at least 3, each at least 10 s); otherwise it is not
written and the result's notes say why. Both files are written whole or not at all
(``emotion.atomic``), and a second run writes them again (sweeping first what a killed
one left half-made: ``atomic.sole_writer``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion import atomic
from emotion.clock import clock
from emotion.errors import ExportError, ReelError
from emotion.export.ffmpeg_tools import (
    MAX_FPS,
    SAMPLE_RATE,
    Note,
    Picture,
    media_length_s,
    pick_encoder,
    post_output,
    probe_picture,
    run_ffmpeg,
)
from emotion.export.loudness import audio_chain, measure_loudness
from emotion.export.post_settings import MIN_PART_S, ReelSettings
from emotion.export.reel_plan import (
    CROSSFADE_S,
    Part,
    place,
    plan_reel,
    quiet_parts,
    reel_chapters,
    reel_length_s,
)
from emotion.media.audio import ffmpeg_exe
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight

REEL_NAME = "reel.mp4"
CHAPTERS_NAME = "reel-chapters.txt"
AUDIO_ONLY_SIZE = (1920, 1080)
AUDIO_ONLY_FPS = 30.0
MAX_SIZE = (3840, 2160)
WAVE_COLOUR = "0x7fd4ff"
GROUND_COLOUR = "0x14141c"
# The waveform is drawn in a band across the middle: the flat ground around it costs the
# encoder next to nothing (an 8 s reel: 3.0 s to encode, against 5.4 s for a full-frame wave).
WAVE_H = 480


@dataclass(frozen=True)
class ReelResult:
    """What was written: the reel, its chapters (None when YouTube would refuse them), why."""

    path: Path
    chapters: Path | None
    parts: tuple[Part, ...]
    duration_s: float
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- the file


def write_reel(
    source_path: Path,
    highlights: Sequence[Highlight],
    out_dir: Path,
    settings: ReelSettings | None = None,
    progress: ProgressFn | None = None,
    *,
    audio_track: int = 1,
    has_video: bool | None = None,
    on_note: Note | None = None,
) -> ReelResult:
    """Write ``out_dir/reel.mp4`` (and ``reel-chapters.txt`` when valid) from the best highlights.

    ``has_video=False`` treats a file with only cover art as audio; None probes the file.
    """
    settings = (settings or ReelSettings()).check()
    if not highlights:
        raise ReelError(
            "There are no highlights to make a reel of; lower the threshold or keep a moment "
            "by hand first."
        )
    if not source_path.is_file():
        raise ExportError(
            f"The media file {source_path} is gone, so no reel can be made; analyse the VOD again."
        )
    notes: list[str] = []

    def tell(note: str) -> None:
        notes.append(note)
        if on_note is not None:
            on_note(note)

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(Progress("reel", fraction, message))

    picture = probe_picture(source_path) if has_video is not False else None
    duration_s = media_length_s(source_path)
    planned = plan_reel(highlights, duration_s, settings)
    if not planned:
        raise ReelError(
            f"{source_path.name} is too short for a reel part of {MIN_PART_S:g} s; make "
            "shorts of its highlights instead."
        )
    report(0.0, f"{len(planned)} part(s), finding quiet edges")
    parts = place(quiet_parts(source_path, audio_track, planned, duration_s))
    length_s = reel_length_s(parts)
    encoder = settings.encoder if settings.encoder != "auto" else pick_encoder(tell, "the reel is")
    out = out_dir / REEL_NAME
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(
            f"Cannot create the folder {out_dir} ({e.strerror}); pick a folder you can write to."
        ) from e

    with (  # one writer of the reel at a time; a killed one's half reel is swept first
        atomic.sole_writer(out_dir, (REEL_NAME, CHAPTERS_NAME), what="the reel"),
        tempfile.TemporaryDirectory(prefix="hypeline-reel-") as work,
    ):
        sound = Path(work) / "sound.wav"
        report(0.1, "joining the sound")
        join_sound(source_path, audio_track, parts, sound)
        loudness = measure_loudness(sound, 1, 0.0, length_s + 1.0)
        report(0.3, f"rendering {clock(length_s)} with {encoder}")
        inputs = _part_inputs(source_path, parts) if picture is not None else []
        sound_input = len(parts) if picture is not None else 0  # the WAV comes after the parts
        graph = filter_graph(parts, picture, sound_input, length_s, loudness)
        with atomic.replacing(out, ".mp4") as tmp:
            cmd = [
                ffmpeg_exe(),
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                *inputs,
                "-i",
                f"file:{sound}",
                "-filter_complex",
                graph,
                *post_output(encoder, length_s, tmp),
            ]
            run_ffmpeg(cmd, f"ffmpeg could not render the reel from {source_path.name}")

        chapters = out_dir / CHAPTERS_NAME
        lines, refusal = reel_chapters(parts, length_s)
        if refusal is None:
            atomic.write_text(chapters, "".join(f"{line}\n" for line in lines))
        else:
            chapters.unlink(missing_ok=True)  # an earlier reel's chapters would not match
            tell(f"{CHAPTERS_NAME} was not written: {refusal}")
    report(1.0, f"{out.name}, {clock(length_s)}")
    written = chapters if refusal is None else None
    return ReelResult(out, written, tuple(parts), length_s, tuple(notes))


# ---------------------------------------------------------------------------- ffmpeg


def _part_inputs(path: Path, parts: Sequence[Part]) -> list[str]:
    """One input per part, seeked to it (each decodes only its own stretch)."""
    args: list[str] = []
    for p in parts:
        args += ["-ss", f"{p.start_s:.3f}", "-t", f"{p.duration_s:.3f}", "-i", f"file:{path}"]
    return args


def join_sound(path: Path, audio_track: int, parts: Sequence[Part], out: Path) -> None:
    """The parts' sound crossfaded into one 48 kHz stereo WAV: loudnorm measures the whole."""
    graph = []
    for k, p in enumerate(parts):
        graph.append(
            f"[{k}:a:{audio_track - 1}]aresample={SAMPLE_RATE},"
            f"aformat=sample_fmts=fltp:channel_layouts=stereo,asetpts=PTS-STARTPTS,"
            f"apad,atrim=duration={p.duration_s:.6f}[a{k}]"
        )
    graph.append(_chain("a", len(parts), lambda k: f"acrossfade=d={CROSSFADE_S}:c1=tri:c2=tri"))
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *_part_inputs(path, parts),
        "-filter_complex",
        ";".join(graph),
        "-map",
        "[aout]",
        "-c:a",
        "pcm_f32le",
        "-f",
        "wav",
        f"file:{out}",
    ]
    run_ffmpeg(cmd, f"ffmpeg could not join the reel's sound from {path.name}")


def _chain(kind: str, n: int, join: Callable[[int], str]) -> str:
    """``[x0][x1]join(1)[x1'];[x1'][x2]join(2)…`` ending in ``[<kind>out]``."""
    if n == 1:
        return f"[{kind}0]{'a' if kind == 'a' else ''}null[{kind}out]"
    steps, last = [], f"{kind}0"
    for k in range(1, n):
        name = f"{kind}out" if k == n - 1 else f"{kind}x{k}"
        steps.append(f"[{last}][{kind}{k}]{join(k)}[{name}]")
        last = name
    return ";".join(steps)


def frame_size(picture: Picture | None) -> tuple[int, int]:
    """The reel's frame: the smallest even 16:9 frame that holds the picture (at most 4K)."""
    if picture is None:
        return AUDIO_ONLY_SIZE
    w = picture.width * picture.sar if abs(picture.sar - 1.0) > 0.01 else picture.width
    h = max(float(picture.height), w * 9 / 16)
    h = min(h, float(MAX_SIZE[1]))
    height = max(2, 2 * round(h / 2))
    width = max(2, 2 * round(height * 16 / 9 / 2))
    return width, height


def filter_graph(
    parts: Sequence[Part],
    picture: Picture | None,
    sound_input: int,
    length_s: float,
    loudness: dict[str, float] | None,
) -> str:
    """The ``-filter_complex``: the parts crossfaded to ``[v]``, the joined sound to ``[a]``."""
    width, height = frame_size(picture)
    sound = f"[{sound_input}:a]"
    if picture is None:
        return ";".join(
            [
                f"{sound}asplit=2[wave][snd]",
                f"[wave]showwaves=s={width}x{WAVE_H}:mode=cline:rate={AUDIO_ONLY_FPS:g}"
                f":colors={WAVE_COLOUR},format=yuv420p,pad={width}:{height}:0:{(height - WAVE_H) // 2}"
                f":color={GROUND_COLOUR},setsar=1[v]",
                f"[snd]{audio_chain(loudness, length_s)}[a]",
            ]
        )
    fps = min(picture.fps or 30.0, MAX_FPS)
    graph = []
    for k, p in enumerate(parts):
        square = ",scale=trunc(iw*sar/2)*2:ih,setsar=1" if abs(picture.sar - 1.0) > 0.01 else ""
        graph.append(
            f"[{k}:v]setpts=PTS-STARTPTS{square},fps={fps:.6g},"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,"
            f"tpad=stop_mode=clone:stop_duration={CROSSFADE_S},"
            f"trim=duration={p.duration_s:.6f},setpts=PTS-STARTPTS[v{k}]"
        )
    graph.append(
        _chain(
            "v",
            len(parts),
            lambda k: (
                f"xfade=transition=fade:duration={CROSSFADE_S}:offset={parts[k].reel_start_s:.6f}"
            ),
        )
    )
    graph.append("[vout]null[v]")
    graph.append(f"{sound}{audio_chain(loudness, length_s)}[a]")
    return ";".join(graph)


__all__ = ["ReelResult", "write_reel"]
