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

import functools
import importlib.util
import json
import math
import re
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion import atomic
from emotion.clock import clock
from emotion.errors import ExportError, ShortsError
from emotion.export.clips import clip_name
from emotion.export.timefmt import by_start
from emotion.media.audio import ffmpeg_exe, load_segment
from emotion.media.source import Source
from emotion.progress import Progress, ProgressFn
from emotion.scoring.highlights import Highlight

WIDTH, HEIGHT = 1080, 1920
LAYOUTS = ("blur", "crop", "split")
MIN_SHORT_S = 3.0
MAX_SHORT_S = 180.0  # YouTube's limit for a Short
DEFAULT_MAX_S = 60.0
MAX_FPS = 60.0
AUDIO_ONLY_FPS = 30.0
FACECAM_H = 640  # split: the top third is the face cam, the rest the gameplay
EDGE_SEARCH_S = 2.0
QUIET_TOLERANCE_DB = 3.0  # edges move to the nearest point this close to the quietest
EDGE_SR = 8000  # enough to find a quiet point, cheap to decode
FADE_S = 0.3
TARGET_LUFS = -14.0
TARGET_TP_DB = -1.0
TARGET_LRA = 20.0  # the widest ffmpeg 5.1 accepts: streams swing; linear gain keeps them
AUDIO_BITRATE = "192k"
SAMPLE_RATE = 48_000
VIDEO_CRF = 20
TITLE_SIZE_PX = 72
TITLE_WRAP_CHARS = 24
ENCODER_PROBE_TIMEOUT_S = 15.0
HARDWARE_ENCODERS = ("h264_nvenc", "h264_videotoolbox", "h264_qsv")
ENCODER_OPTIONS: dict[str, list[str]] = {
    "libx264": ["-preset", "veryfast", "-crf", str(VIDEO_CRF)],
    "h264_nvenc": ["-preset", "p4", "-rc", "vbr", "-cq", "21", "-b:v", "0"],
    "h264_videotoolbox": ["-b:v", "10M"],
    "h264_qsv": ["-preset", "veryfast", "-global_quality", "22"],
}
DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
TITLE_FIELDS = ("label", "time")

Note = Callable[[str], None]


@dataclass(frozen=True)
class ShortSettings:
    """How shorts look: the layout, the longest one, the crop window, the face cam, the title."""

    layout: str = "blur"
    max_s: float = DEFAULT_MAX_S
    crop_x: float | None = None  # crop: the window's place in the free width, 0..1; None: centre
    facecam: tuple[int, int, int, int] | None = None  # split: x, y, w, h in the video's pixels
    title: str = "{label}"  # {label} and {time}; "" draws none
    encoder: str = "auto"  # auto: the first hardware H.264 encoder that works, else libx264

    def check(self) -> ShortSettings:
        """The settings, or a ``ShortsError`` saying which one to change and how."""
        if self.layout not in LAYOUTS:
            raise ShortsError(
                f"There is no short layout {self.layout!r}; choose {', '.join(LAYOUTS)}.",
                "layout",
            )
        if not MIN_SHORT_S <= self.max_s <= MAX_SHORT_S:
            raise ShortsError(
                f"A short lasts {MIN_SHORT_S:g} to {MAX_SHORT_S:g} s, so its longest length "
                f"must be in that range (60 s is the default), not {self.max_s:g} s.",
                "max_s",
            )
        if self.crop_x is not None and not 0.0 <= self.crop_x <= 1.0:
            raise ShortsError(
                f"The crop position is a fraction of the free width from 0 (left) to 1 "
                f"(right), not {self.crop_x:g}; 0.5 is the centre.",
                "crop_x",
            )
        if self.layout == "split" and self.facecam is None:
            raise ShortsError(
                "The split layout needs the face cam's rectangle (x, y, width, height in the "
                "video's pixels); give it, or use the blur layout.",
                "facecam",
            )
        if self.facecam is not None:
            x, y, w, h = self.facecam
            if x < 0 or y < 0 or w < 2 or h < 2:
                raise ShortsError(
                    f"The face-cam rectangle {x},{y},{w},{h} is not a rectangle in the video; "
                    "give x,y from 0 and a width and height of 2 pixels or more.",
                    "facecam",
                )
        try:
            self.title.format_map(dict.fromkeys(TITLE_FIELDS, ""))
        except (KeyError, ValueError, IndexError):
            raise ShortsError(
                f"The title {self.title!r} can only use {{label}} and {{time}}; write other "
                "braces twice ({{ and }}).",
                "title",
            ) from None
        if self.encoder != "auto" and self.encoder not in ENCODER_OPTIONS:
            raise ShortsError(
                f"Unknown encoder {self.encoder!r}; choose auto or {', '.join(ENCODER_OPTIONS)}.",
                "encoder",
            )
        return self


@dataclass(frozen=True)
class Picture:
    """The decoded video as ffmpeg hands it to the filters (rotation applied)."""

    width: int
    height: int
    fps: float | None
    sar: float = 1.0  # pixel aspect ratio (anamorphic video: not 1)


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
            start_s, end_s = quiet_edges(source.path, audio_track, start_s, end_s, duration_s,
                                         settings.max_s)  # fmt: skip
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
        graph = filter_graph(settings, picture, audio_track, plan.duration_s, loudness,
                             font, text_file)  # fmt: skip
        with atomic.replacing(plan.out, ".mp4") as tmp:
            cmd = [
                ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-ss", f"{plan.start_s:.3f}", "-t", f"{plan.duration_s:.3f}",
                "-i", f"file:{path}",
                "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                "-c:v", encoder, *ENCODER_OPTIONS[encoder], "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
                "-t", f"{plan.duration_s:.3f}", "-movflags", "+faststart",
                "-f", "mp4", f"file:{tmp}",
            ]  # fmt: skip
            _run(cmd, f"ffmpeg could not render the short {plan.out.name} from {path.name}")


# ------------------------------------------------------------------------- the stretch


def short_span(h: Highlight, duration_s: float | None, max_s: float) -> tuple[float, float]:
    """The stretch a short shows: the highlight, widened around its centre to 3 s or cut
    to ``max_s`` around its peak, and kept inside the source."""
    start_s, end_s = h.start_s, h.end_s
    if end_s - start_s > max_s:
        centre = min(max(h.peak_s, start_s + max_s / 2), end_s - max_s / 2)
        start_s, end_s = centre - max_s / 2, centre + max_s / 2
    elif end_s - start_s < MIN_SHORT_S:
        centre = (start_s + end_s) / 2
        start_s, end_s = centre - MIN_SHORT_S / 2, centre + MIN_SHORT_S / 2
    length_s = end_s - start_s
    if duration_s:
        length_s = min(length_s, duration_s)
        start_s = min(max(start_s, 0.0), duration_s - length_s)
    else:
        start_s = max(start_s, 0.0)
    return start_s, start_s + length_s


def quiet_edges(
    path: Path,
    audio_track: int,
    start_s: float,
    end_s: float,
    duration_s: float | None,
    max_s: float,
) -> tuple[float, float]:
    """``start_s`` and ``end_s`` moved to the nearest quiet point within ±2 s (quiet: within
    3 dB of the quietest there), keeping the short 3 s to ``max_s`` long and in the source."""
    limit_s = duration_s if duration_s else end_s + EDGE_SEARCH_S
    lo = max(0.0, start_s - EDGE_SEARCH_S)
    hi = min(limit_s, end_s + EDGE_SEARCH_S)
    audio = load_segment(path, EDGE_SR, lo, hi - lo, audio_track)
    times, level_db = _levels(audio, lo)
    if not len(times):
        return start_s, end_s
    new_start = _quietest_near(times, level_db, start_s, start_s - EDGE_SEARCH_S,
                               min(start_s + EDGE_SEARCH_S, end_s - MIN_SHORT_S))  # fmt: skip
    new_start = max(0.0, new_start)
    new_end = _quietest_near(times, level_db, end_s, max(end_s - EDGE_SEARCH_S,
                             new_start + MIN_SHORT_S), min(end_s + EDGE_SEARCH_S,
                             new_start + max_s, limit_s))  # fmt: skip
    return new_start, min(new_end, limit_s)


def _levels(audio: np.ndarray, offset_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Loudness in dB of 50 ms frames every 10 ms, and the frames' centre times."""
    frame, hop = EDGE_SR // 20, EDGE_SR // 100
    if len(audio) < frame:
        return np.zeros(0), np.zeros(0)
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    starts = np.arange(0, len(audio) - frame + 1, hop)
    mean_sq = (energy[starts + frame] - energy[starts]) / frame
    return offset_s + (starts + frame / 2) / EDGE_SR, 10 * np.log10(mean_sq + 1e-12)


def _quietest_near(
    times: np.ndarray, level_db: np.ndarray, edge_s: float, lo_s: float, hi_s: float
) -> float:
    """The point nearest ``edge_s`` in ``lo_s..hi_s`` that is about as quiet as the quietest."""
    inside = (times >= lo_s) & (times <= hi_s)
    if not inside.any():
        return edge_s
    quiet = inside & (level_db <= level_db[inside].min() + QUIET_TOLERANCE_DB)
    nearest = np.argmin(np.where(inside, np.abs(times - edge_s), np.inf))
    if quiet[nearest] and lo_s <= edge_s <= hi_s:
        return edge_s  # already quiet: stay on the highlight's own edge
    candidates = times[quiet]
    return float(candidates[np.argmin(np.abs(candidates - edge_s))])


# ------------------------------------------------------------------------------ sound


def measure_loudness(
    path: Path, audio_track: int, start_s: float, duration_s: float
) -> dict[str, float] | None:
    """loudnorm's first pass over the stretch: its measured values, None when silent."""
    cmd = [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-ss", f"{start_s:.3f}",
        "-t", f"{duration_s:.3f}", "-i", f"file:{path}", "-map", f"0:a:{audio_track - 1}",
        "-af", f"loudnorm=I={TARGET_LUFS}:TP={TARGET_TP_DB}:LRA={TARGET_LRA}:print_format=json",
        "-f", "null", "-",
    ]  # fmt: skip
    stderr = _run(cmd, f"ffmpeg could not measure the loudness of {path.name}")
    found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if found is None:
        return None
    values = json.loads(found.group(0))
    try:
        measured = {k: float(values[k]) for k in
                    ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")}  # fmt: skip
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


# ---------------------------------------------------------------------------- picture


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


def wrap_title(title: str) -> str:
    """The title in lines that fit the short's width at the title's size."""
    return "\n".join(textwrap.wrap(" ".join(title.split()), TITLE_WRAP_CHARS)[:3])


def _quote(value: str) -> str:
    """A filter option's value escaped for the option parser, then for the filter graph."""
    option = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)


# -------------------------------------------------------------------- what is on hand


_VIDEO = re.compile(r"^\s*Stream #\d+:\d+.*?: Video: (?P<desc>.*)$", re.MULTILINE)
_SIZE = re.compile(r"[ ,](\d{2,5})x(\d{2,5})[ ,\[]")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_ROTATION = re.compile(
    r"(?:rotation of (-?[\d.]+) degrees|^\s*rotate\s*: (-?[\d.]+))", re.MULTILINE
)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _describe(path: Path) -> str:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", f"file:{path}"],
        capture_output=True, text=True, errors="replace", check=False,
    )  # fmt: skip
    return proc.stderr  # ffmpeg -i alone describes the input on stderr (and exits 1)


def probe_picture(path: Path) -> Picture | None:
    """The first video stream's size as the filters see it (turned upright), None without one."""
    info = _describe(path)
    video = _VIDEO.search(info)
    if video is None or (size := _SIZE.search(video.group("desc") + " ")) is None:
        return None
    width, height = int(size.group(1)), int(size.group(2))
    rotation = _ROTATION.search(info[video.start() :])
    if rotation is not None:
        degrees = float(rotation.group(1) or rotation.group(2))
        if round(abs(degrees)) % 180 == 90:  # ffmpeg turns the frames upright when decoding
            width, height = height, width
    sar = _SAR.search(video.group("desc"))
    fps = _FPS.search(video.group("desc"))
    return Picture(
        width=width,
        height=height,
        fps=float(fps.group(1)) if fps else None,
        sar=int(sar.group(1)) / int(sar.group(2)) if sar and int(sar.group(2)) else 1.0,
    )


def media_length_s(path: Path) -> float | None:
    """The container's duration, when it states one."""
    if m := _DURATION.search(_describe(path)):
        h, mnt, s = m.groups()
        return int(h) * 3600 + int(mnt) * 60 + float(s)
    return None


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


def pick_encoder(on_note: Note | None = None, what: str = "shorts are") -> str:
    """The first hardware H.264 encoder that encodes here (probed once per ffmpeg), else
    libx264; a note says ``what`` encoded on the CPU when a hardware one failed."""
    encoder, failed = _pick_encoder(ffmpeg_exe())
    if failed and encoder == "libx264" and on_note is not None:
        on_note(f"{', '.join(failed)} did not start here, so {what} encoded on the CPU.")
    return encoder


@functools.lru_cache(maxsize=4)
def _pick_encoder(exe: str) -> tuple[str, tuple[str, ...]]:
    """(encoder, the hardware ones ffmpeg has that failed a 0.1 s test encode)."""
    listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True,
                             text=True, errors="replace", check=False).stdout  # fmt: skip
    failed: list[str] = []
    for name in HARDWARE_ENCODERS:
        if not re.search(rf"^\s*V\S*\s+{name}\s", listing, re.MULTILINE):
            continue
        cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
               "-i", "color=c=black:s=256x256:r=30:d=0.1", "-c:v", name,
               *ENCODER_OPTIONS[name], "-pix_fmt", "yuv420p", "-f", "null", "-"]  # fmt: skip
        try:
            ok = subprocess.run(cmd, capture_output=True, timeout=ENCODER_PROBE_TIMEOUT_S,
                                check=False).returncode == 0  # fmt: skip
        except subprocess.TimeoutExpired:
            ok = False
        if ok:
            return name, tuple(failed)
        failed.append(name)
    return "libx264", tuple(failed)


def _run(cmd: list[str], what: str) -> str:
    """Run ffmpeg; its stderr, or an ``ExportError`` with its last line."""
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ExportError(f"{what}: {detail}. Check that the media file is intact.")
    return proc.stderr


__all__ = ["LAYOUTS", "ShortSettings", "write_shorts"]
