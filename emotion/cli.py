"""``python -m emotion``: the command line over the library.

Every user error ends in one sentence on stderr and exit code 2; results go to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from emotion.audio import check_file
from emotion.classify import Classifier
from emotion.errors import HypelineError
from emotion.model import DEFAULT_MODEL, MODEL_ENV
from emotion.scoring import DEFAULT_TEMPLATE


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--model",
        help=f"hub id or local folder of a CLAP checkpoint (default: ${MODEL_ENV}, "
        f"else {DEFAULT_MODEL})",
    )
    group.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    group.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="auto: bf16/fp16 on CUDA, fp32 on CPU",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emotion",
        description="Hypeline: find the moments in a stream by how they sound (CLAP, zero-shot).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    classify = commands.add_parser(
        "classify", help="probabilities of labels for one clip (JSON on stdout)"
    )
    classify.add_argument("audio", type=Path, help="audio or video file ffmpeg can read")
    classify.add_argument("--labels", required=True, help='comma-separated, e.g. "piano, guitar"')
    classify.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help=f'prompt template, {{}} marks the label (default "{DEFAULT_TEMPLATE}"; '
        '"{}" uses the labels verbatim)',
    )
    _add_model_args(classify)
    classify.set_defaults(func=_classify)

    match = commands.add_parser("match", help="cosine similarity of a clip and a text (JSON)")
    match.add_argument("audio", type=Path, help="audio or video file ffmpeg can read")
    match.add_argument("--text", required=True, help='a description, e.g. "a dog barking"')
    _add_model_args(match)
    match.set_defaults(func=_match)
    return parser


def _classifier(args: argparse.Namespace, template: str = DEFAULT_TEMPLATE):

    return Classifier.load(
        args.model, device=args.device, precision=args.precision, template=template
    )


def _classify(args: argparse.Namespace) -> int:
    from emotion.scoring import check_template, parse_labels

    labels = parse_labels(args.labels)  # bad input fails before the model loads
    check_template(args.template)
    check_file(args.audio)
    result = _classifier(args, args.template).classify(args.audio, labels)
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0


def _match(args: argparse.Namespace) -> int:
    from emotion.scoring import parse_labels

    (text,) = parse_labels([args.text], what="texts")
    check_file(args.audio)
    similarity = _classifier(args).match(args.audio, text)
    print(json.dumps({"similarity": round(similarity, 4)}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HypelineError as e:
        print(f"hypeline: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("hypeline: interrupted; nothing was lost that can't be resumed.", file=sys.stderr)
        return 130
