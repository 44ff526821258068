"""``shorts/``: each highlight as a vertical short to post as it is (Shorts, TikTok, Reels).

1080×1920 H.264 (yuv420p, the source's frame rate up to 60, ``+faststart``) with AAC
48 kHz stereo, 3 s to ``max_s``, in one of three layouts: ``blur`` (the frame at full
width over a blurred, zoomed copy of itself), ``crop`` (a 9:16 window) and ``split`` (a
face-cam rectangle on top of the gameplay). A title line is drawn with a font the install
brings. The sound is normalised in two ``loudnorm`` passes to −14 LUFS, −1 dBTP (what the
platforms play at) and fades in and out; each short starts and ends at the quietest point
within ±2 s of its highlight's edges, so it never cuts into a shout. An audio-only source
gets its waveform as the picture. Each file is written whole or not at all
(``emotion.atomic``) and one already there is kept, so a second run makes only the missing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion import atomic
from emotion.clock import clock
from emotion.errors import ExportError, ShortsError
from emotion.export.clips import clip_name
from emotion.export.ffmpeg_tools import (
    Note,
    Picture,
    media_length_s,
    pick_encoder,
    post_output,
    run_ffmpeg,
)
from emotion.export.layouts import check_picture, filter_graph, font_file, wrap_title
from emotion.export.loudness import measure_loudness
from emotion.export.post_settings import ShortSettings
from emotion.export.spans import quiet_edges, short_span
from emotion.export.timefmt import by_start
from emotion.media.audio import ffmpeg_exe
from emotion.media.source import Source
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight


@dataclass(frozen=True)
class Plan:
    """One short to render: where it goes and which stretch of the source it shows."""

    highlight: Highlight
    out: Path
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# ---------------------------------------------------------------------------- the files


def write_shorts(
    source: Source,
    highlights: Sequence[Highlight],
    folder: Path,
    settings: ShortSettings | None = None,
    progress: ProgressFn | None = None,
    *,
    audio_track: int = 1,
    on_note: Note | None = None,
) -> list[Path]:
    """Write one short per highlight into ``folder/shorts/``; every short's path, in time order.

    A short already there is kept (a second run makes only the missing ones). Each is
    rendered under a temporary name and renamed when whole, so a failed or killed render
    leaves no ``.mp4`` under a short's name; the hidden temporary a killed one leaves is
    removed by the next run (``atomic.sole_writer``: one render of a folder at a time).
    """
    settings = (settings or ShortSettings()).check()
    if not highlights:
        raise ShortsError(
            "There are no highlights to make shorts of; lower the threshold or keep a moment "
            "by hand first."
        )
    if not source.path.is_file():
        raise ExportError(
            f"The media file {source.path} is gone, so no shorts can be made; analyse the VOD "
            "again."
        )
    picture = check_picture(source, settings)
    duration_s = source.duration_s or media_length_s(source.path)
    ordered = by_start(list(highlights))
    shorts_dir = folder / "shorts"
    try:
        shorts_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(
            f"Cannot create the folder {shorts_dir} ({e.strerror}); pick a folder you can write to."
        ) from e
    outs = [shorts_dir / clip_name(i, len(ordered), h, ".mp4") for i, h in enumerate(ordered, 1)]
    font = font_file()
    if settings.title and font is None and on_note is not None:
        on_note("No font was found (DejaVu Sans Bold), so the shorts have no title line.")
    encoder = settings.encoder if settings.encoder != "auto" else pick_encoder(on_note)
    # One writer of shorts/ at a time; what a killed one left half-made is swept first.
    with atomic.sole_writer(shorts_dir, what="shorts"):
        todo = [(h, out) for h, out in zip(ordered, outs, strict=True) if not out.exists()]

        def report(done: int, what: str) -> None:
            if progress is not None:
                fraction = done / max(len(todo), 1)
                progress(Progress("shorts", fraction, f"{done}/{len(todo)} shorts{what}"))

        skipped = len(outs) - len(todo)
        report(0, f" ({skipped} already there)" if skipped else "")
        for done, (h, out) in enumerate(todo, start=1):
            start_s, end_s = short_span(h, duration_s, settings.max_s)
            start_s, end_s = quiet_edges(
                source.path, audio_track, start_s, end_s, duration_s, settings.max_s
            )
            plan = Plan(h, out, start_s, end_s)
            title = settings.title.format(label=h.label, time=clock(h.start_s)) if font else ""
            render(source.path, plan, settings, picture, audio_track, encoder, font, title)
            report(done, f": {out.name}")
    return outs


def render(
    path: Path,
    plan: Plan,
    settings: ShortSettings,
    picture: Picture | None,
    audio_track: int,
    encoder: str,
    font: Path | None,
    title: str,
) -> None:
    """Render one short (both loudness passes) into ``plan.out``, atomically."""
    loudness = measure_loudness(path, audio_track, plan.start_s, plan.duration_s)
    with tempfile.TemporaryDirectory(prefix="hypeline-short-") as work:
        text_file = None
        if title.strip() and font is not None:
            text_file = Path(work) / "title.txt"
            text_file.write_text(wrap_title(title), encoding="utf-8")
        graph = filter_graph(
            settings, picture, audio_track, plan.duration_s, loudness, font, text_file
        )
        with atomic.replacing(plan.out, ".mp4") as tmp:
            cmd = [
                ffmpeg_exe(),
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-ss",
                f"{plan.start_s:.3f}",
                "-t",
                f"{plan.duration_s:.3f}",
                "-i",
                f"file:{path}",
                "-filter_complex",
                graph,
                *post_output(encoder, plan.duration_s, tmp),
            ]
            run_ffmpeg(cmd, f"ffmpeg could not render the short {plan.out.name} from {path.name}")


__all__ = ["write_shorts"]
