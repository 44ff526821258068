"""``python -m emotion eval FOLDER``: zero-shot accuracy on a labelled folder of clips."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emotion.errors import HypelineError
from emotion.scoring.packs import load_pack
from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_template
from hypeline_cli.common import ProgressBars, add_model_args, load_model


def add_parser(commands: argparse._SubParsersAction) -> None:

    parser = commands.add_parser(
        "eval",
        help="zero-shot accuracy on a labelled folder (class sub-folders, or ESC-50)",
        description="Zero-shot top-1/top-5 accuracy, recall per class and confusion matrix "
        "of the model on a folder with one sub-folder per class, or in ESC-50's layout "
        "(audio/ plus meta/esc50.csv).",
    )
    parser.add_argument("folder", type=Path, help="the labelled folder")
    parser.add_argument(
        "--template",
        help=f'prompt template, {{}} marks the class (default "{DEFAULT_TEMPLATE}", '
        "or the pack's)",
    )
    parser.add_argument("--pack", type=Path, help="prompt pack JSON whose template to use")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="write the confusion matrix")
    parser.add_argument("--batch-size", type=int, help="clips per forward pass")
    add_model_args(parser)
    parser.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    # emotion.evaluate imports torch (seconds): only when an evaluation runs
    from emotion.evaluate import evaluate, load_dataset, report, write_confusion_png

    template = args.template
    if args.pack is not None and template is None:
        template = load_pack(args.pack).template
    template = check_template(template or DEFAULT_TEMPLATE)
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise HypelineError(f"The plot is written as PNG; name it {args.plot.stem}.png.")
    if args.batch_size is not None and args.batch_size < 1:
        raise HypelineError("--batch-size must be at least 1.")
    dataset = load_dataset(args.folder)  # a bad folder fails before the model loads
    with ProgressBars() as bars:
        clap = load_model(args)
        result = evaluate(clap, dataset, template, args.batch_size, progress=bars.update)
    if args.plot is not None:
        write_confusion_png(result, args.plot)
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else report(result))
    return 0
