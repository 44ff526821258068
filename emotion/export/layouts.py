"""How a short's picture is laid out: the settings checked against the source's picture
(``check_picture``, ``check_facecam``), and the ``-filter_complex`` that draws the layout
(blur, crop or split; an audio-only source's waveform) at 1080×1920 with its title line,
the sound's chain beside it.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import textwrap
from pathlib import Path

from emotion.errors import ShortsError
from emotion.export.ffmpeg_tools import MAX_FPS, Picture, probe_picture
from emotion.export.loudness import audio_chain
from emotion.export.post_settings import ShortSettings
from emotion.media.source import Source

WIDTH, HEIGHT = 1080, 1920
AUDIO_ONLY_FPS = 30.0
FACECAM_H = 640  # split: the top third is the face cam, the rest the gameplay
TITLE_SIZE_PX = 72
TITLE_WRAP_CHARS = 24
DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def filter_graph(
    settings: ShortSettings,
    picture: Picture | None,
    audio_track: int,
    duration_s: float,
    loudness: dict[str, float] | None,
    font: Path | None,
    text_file: Path | None,
) -> str:
    """The whole ``-filter_complex``: the layout to ``[v]`` (1080×1920), the sound to ``[a]``."""
    audio_in = f"[0:a:{audio_track - 1}]"
    if picture is None:
        parts = [
            f"{audio_in}asplit=2[wave][snd]",
            f"[wave]showwaves=s={WIDTH}x720:mode=cline:rate={AUDIO_ONLY_FPS:g}"
            f":colors=0x7fd4ff,format=yuv420p,pad={WIDTH}:{HEIGHT}:0:600:color=0x14141c[base]",
        ]
        title_y = 220
        audio_in = "[snd]"
    else:
        fps = min(picture.fps or 30.0, MAX_FPS)
        head = f"[0:v]fps={fps:.6g}"
        if abs(picture.sar - 1.0) > 0.01:  # anamorphic: square pixels first
            head += ",scale=trunc(iw*sar/2)*2:ih,setsar=1"
        parts, title_y = _layout(settings, picture, head)
    video = "[base]"
    if text_file is not None and font is not None:
        parts.append(
            f"{video}drawtext=fontfile={_quote(str(font))}:textfile={_quote(str(text_file))}"
            f":expansion=none:fontsize={TITLE_SIZE_PX}:fontcolor=white:borderw=5"
            f":bordercolor=black:line_spacing=10:x=(w-text_w)/2:y={title_y}[titled]"
        )
        video = "[titled]"
    parts.append(f"{video}setsar=1,format=yuv420p[v]")
    parts.append(f"{audio_in}{audio_chain(loudness, duration_s)}[a]")
    return ";".join(parts)


def _layout(settings: ShortSettings, picture: Picture, head: str) -> tuple[list[str], int]:
    """The layout's filters from ``head`` (the decoded frames) to ``[base]``; the title's y."""
    w, h = _display_size(picture)
    if settings.layout == "crop":
        cw, ch = _window(w, h, WIDTH / HEIGHT)
        share = 0.5 if settings.crop_x is None else settings.crop_x
        x, y = round((w - cw) * share), (h - ch) // 2
        return [f"{head},crop={cw}:{ch}:{x}:{y},scale={WIDTH}:{HEIGHT}[base]"], 220
    if settings.layout == "split":
        assert settings.facecam is not None  # checked
        fx, fy, fw, fh = settings.facecam
        game_h = HEIGHT - FACECAM_H
        gw, gh = _window(w, h, WIDTH / game_h)
        return [
            f"{head},split=2[cam][game]",
            f"[cam]crop={fw}:{fh}:{fx}:{fy},scale={WIDTH}:{FACECAM_H}"
            f":force_original_aspect_ratio=increase,crop={WIDTH}:{FACECAM_H}[top]",
            f"[game]crop={gw}:{gh}:{(w - gw) // 2}:{(h - gh) // 2},scale={WIDTH}:{game_h}[bottom]",
            "[top][bottom]vstack=inputs=2[base]",
        ], FACECAM_H + 40
    # blur: the background is blurred small (a quarter of the size), which costs a
    # sixteenth of blurring it at 1080×1920 and looks the same once scaled up.
    bw, bh = WIDTH // 4, HEIGHT // 4
    return [
        f"{head},split=2[bg][fg]",
        f"[bg]scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},"
        f"boxblur=10:2,scale={WIDTH}:{HEIGHT}[blurred]",
        f"[fg]scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease"
        f":force_divisible_by=2[front]",
        "[blurred][front]overlay=(W-w)/2:(H-h)/2[base]",
    ], 220


def _display_size(picture: Picture) -> tuple[int, int]:
    if abs(picture.sar - 1.0) > 0.01:
        return 2 * math.trunc(picture.width * picture.sar / 2), picture.height
    return picture.width, picture.height


def _window(w: int, h: int, aspect: float) -> tuple[int, int]:
    """The largest ``aspect`` (width / height) window inside ``w``×``h``, even-sized."""
    cw = min(w, round(h * aspect))
    ch = min(h, round(cw / aspect))
    return max(2, cw - cw % 2), max(2, ch - ch % 2)


def check_picture(source: Source, settings: ShortSettings) -> Picture | None:
    """The source's picture (None for audio only), or a ``ShortsError`` when ``settings``
    ask of it what it cannot give: crop or split without a picture, a face cam outside it."""
    picture = probe_picture(source.path) if source.has_video else None
    if picture is None and settings.layout != "blur":
        raise ShortsError(
            f"{source.title} has no picture to {settings.layout}; use the blur layout (the "
            "default), which shows the sound's waveform instead.",
            "layout",
        )
    if picture is not None and settings.facecam is not None and settings.layout == "split":
        check_facecam(settings.facecam, picture)
    return picture


def check_facecam(facecam: tuple[int, int, int, int], picture: Picture) -> None:
    """Refuse a face-cam rectangle that reaches outside the video."""
    x, y, w, h = facecam
    width, height = _display_size(picture)
    if x + w > width or y + h > height:
        raise ShortsError(
            f"The face-cam rectangle {x},{y},{w},{h} reaches outside the {width}×{height} "
            f"video; give one inside the frame (x + width ≤ {width}, y + height ≤ {height}).",
            "facecam",
        )


# ------------------------------------------------------------------------------ title


def wrap_title(title: str) -> str:
    """The title in lines that fit the short's width at the title's size."""
    return "\n".join(textwrap.wrap(" ".join(title.split()), TITLE_WRAP_CHARS)[:3])


def _quote(value: str) -> str:
    """A filter option's value escaped for the option parser, then for the filter graph."""
    option = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)


def font_file() -> Path | None:
    """A bold font for the title: Debian's DejaVu, else the one matplotlib's wheel carries."""
    return _font_file()


@functools.lru_cache(maxsize=1)
def _font_file() -> Path | None:
    if DEBIAN_FONT.is_file():
        return DEBIAN_FONT
    spec = importlib.util.find_spec("matplotlib")  # found, not imported (a second's import)
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        if bundled.is_file():
            return bundled
    return None
