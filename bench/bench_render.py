"""Rendering: seconds and real-time factor of a 30 s short per layout, and of a 3-minute reel.

A synthetic 720p30 source (ffmpeg's ``testsrc2``, a moving pattern, with a tone) of 40 s
is rendered into one 30 s short per layout with ``emotion.export.shorts`` as the product
does it: both loudness passes, the quiet-edge search, the title, the encoder picked as in
use (a working hardware encoder, else libx264 ``veryfast``). The real-time factor is render
time over the short's length (below 1: faster than real time). Target: blur in ≤ 30 s on
2 cores. ``--reel`` also renders a 3-minute reel (``emotion.export.reel``) of six 30 s
moments from a 200 s source (its own 720p30 pattern), crossfades and loudness included.

    python bench/bench_render.py                 # every layout, the encoder picked
    python bench/bench_render.py --reel
    python bench/bench_render.py --encoder libx264 --threads 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emotion.export.ffmpeg_tools import pick_encoder  # noqa: E402
from emotion.export.post_settings import LAYOUTS, ReelSettings, ShortSettings  # noqa: E402
from emotion.export.reel import write_reel  # noqa: E402
from emotion.export.shorts import write_shorts  # noqa: E402
from emotion.media.audio import ffmpeg_exe  # noqa: E402
from emotion.media.sources import open_source  # noqa: E402
from emotion.scoring.highlights import Highlight  # noqa: E402

SOURCE_S = 40.0
SHORT_S = 30.0
REEL_SOURCE_S = 200.0


def make_source(path: Path, source_s: float = SOURCE_S) -> Path:
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s=1280x720:r=30:d={source_s}",
        "-f",
        "lavfi",
        "-i",
        f"sine=f=440:d={source_s}:sample_rate=48000",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(path),
    ]
    subprocess.run(cmd, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="auto", help="auto, libx264, h264_nvenc, …")
    parser.add_argument(
        "--threads", type=int, help="CPU cores ffmpeg may use (taskset; default: all)"
    )
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--reel", action="store_true", help="also render a 3-minute reel")
    args = parser.parse_args()
    if args.threads:
        os.sched_setaffinity(0, set(range(args.threads)))  # ffmpeg children inherit it
    cores = len(os.sched_getaffinity(0))
    encoder = args.encoder if args.encoder != "auto" else pick_encoder()
    print(f"ffmpeg {ffmpeg_exe()}, encoder {encoder}, {cores} core(s)")
    moment = Highlight("crowd cheering", 5.0, 5.0 + SHORT_S, 20.0, 0.9)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        source = open_source(make_source(Path(tmp) / "source 720p.mp4"))
        for layout in args.layouts.split(","):
            settings = ShortSettings(
                layout=layout,
                max_s=SHORT_S,
                facecam=(960, 0, 320, 180) if layout == "split" else None,
                encoder=encoder,
            )
            start = time.perf_counter()
            write_shorts(source, [moment], Path(tmp) / layout, settings)
            took = time.perf_counter() - start
            print(
                f"{layout:>6}: {took:5.1f} s for a {SHORT_S:.0f} s short  "
                f"real-time factor {took / SHORT_S:.2f}"
            )
        if args.reel:
            long = make_source(Path(tmp) / "source 200s.mp4", REEL_SOURCE_S)
            parts = [Highlight("moment", t, t + 30.0, t + 15.0, 0.9) for t in range(2, 182, 32)]
            start = time.perf_counter()
            made = write_reel(
                long,
                parts,
                Path(tmp) / "reel",
                ReelSettings(length_s=180.0, spacing_s=0.0, encoder=encoder),
            )
            took = time.perf_counter() - start
            print(
                f"  reel: {took:5.1f} s for a {made.duration_s:.0f} s reel of "
                f"{len(made.parts)} parts  real-time factor {took / made.duration_s:.2f}"
            )


if __name__ == "__main__":
    main()
