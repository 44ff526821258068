"""``hypeline classify`` and ``hypeline match``: one clip against labels, or against a text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emotion.media.audio import check_file
from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_template, parse_labels
from hypeline_cli.common import add_model_args


def add_parser(commands: argparse._SubParsersAction) -> None:
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
    add_model_args(classify)
    classify.set_defaults(func=run_classify)

    match = commands.add_parser("match", help="cosine similarity of a clip and a text (JSON)")
    match.add_argument("audio", type=Path, help="audio or video file ffmpeg can read")
    match.add_argument("--text", required=True, help='a description, e.g. "a dog barking"')
    add_model_args(match)
    match.set_defaults(func=run_match)


def _classifier(args: argparse.Namespace, template: str = DEFAULT_TEMPLATE):
    from emotion.classify import Classifier  # imports torch (seconds): only when it runs

    return Classifier.load(
        args.model, device=args.device, precision=args.precision, template=template
    )


def run_classify(args: argparse.Namespace) -> int:
    labels = parse_labels(args.labels)  # bad input fails before the model loads
    check_template(args.template)
    check_file(args.audio)
    result = _classifier(args, args.template).classify(args.audio, labels)
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0


def run_match(args: argparse.Namespace) -> int:
    (text,) = parse_labels([args.text], what="texts")
    check_file(args.audio)
    similarity = _classifier(args).match(args.audio, text)
    print(json.dumps({"similarity": round(similarity, 4)}))
    return 0
