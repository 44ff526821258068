"""What the subcommands share: the model options, progress bars on stderr, notes, and the
default output folder of a VOD."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from emotion.errors import ChatError, DeviceError, HypelineError, ModelNotFoundError
from emotion.export import slugify
from emotion.media.source import Source
from emotion.model.names import DEFAULT_MODEL, MODEL_ENV, PRECISION_NAMES
from emotion.progress import Progress


def add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        help=f"hub id or local folder of a CLAP checkpoint (default: ${MODEL_ENV}, "
        f"else {DEFAULT_MODEL})",
    )
    group.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, else an Apple GPU, else CPU), cpu, cuda or mps",
    )
    group.add_argument(
        "--precision",
        default="auto",
        choices=list(PRECISION_NAMES),
        help="auto: bf16/fp16 on CUDA, fp16 on Apple GPUs, int8 on x86 CPUs with AVX2 (fp32 "
        "elsewhere); fp32 gives the reference numbers",
    )


def load_model(args: argparse.Namespace):  # -> emotion.model.clap.Clap
    """The checkpoint the model options name (imports torch: only commands that need it)."""
    from emotion.model.clap import load_clap

    return load_clap(args.model, device=args.device, precision=args.precision)


class ProgressBars:
    """One tqdm bar per stage on stderr (hidden when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm] = {}

    def update(self, p: Progress) -> None:
        bar = self._bars.get(p.stage)
        if bar is None:
            bar = self._bars[p.stage] = tqdm(
                total=100,
                desc=p.stage,
                unit="%",
                file=sys.stderr,
                disable=None,
                bar_format="{desc:>8} {percentage:3.0f}%|{bar:30}| {postfix}",
            )
        if p.fraction is not None:
            bar.n = round(100 * p.fraction, 1)
        bar.set_postfix_str(p.message, refresh=True)

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()


def note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def default_out(source: Source) -> Path:
    """``hypeline-out/<name>/`` beside a local VOD (wherever the command runs), or in the
    current folder for a link (its download lives in the library, not next to the user)."""
    base = Path.cwd() if source.url is not None else source.path.resolve().parent
    return base / "hypeline-out" / slugify(source.title)


def flag_hint(e: HypelineError) -> str:
    """The CLI's own words for the fix the library describes (it never names a flag)."""
    if isinstance(e, ModelNotFoundError):
        return " (--model PATH_OR_ID)"
    if isinstance(e, DeviceError):
        return " (--device cpu)"
    if isinstance(e, ChatError):
        return " (--chat FILE)"
    return ""
