"""``python -m emotion library``: list, rename and delete the analyses of the library."""

from __future__ import annotations

import argparse
import json
import sys
import time

from emotion.clock import clock
from emotion.errors import SearchError
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.search import aired_s


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "library",
        help="list, rename or delete the analyses in the library",
        description="The analyses in $HYPELINE_HOME: list them, rename one, or delete one with "
        "its embeddings and downloaded media.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="every analysis (the default)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    rm = actions.add_parser("rm", help="delete an analysis, its embeddings and its download")
    rm.add_argument("id", type=int, help="the analysis id (see list)")
    rm.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rename = actions.add_parser("rename", help="give an analysis your own name")
    rename.add_argument("id", type=int, help="the analysis id (see list)")
    rename.add_argument("name", help='the new name ("" goes back to the source\'s title)')
    parser.set_defaults(func=run, action="list", json=False)


def run(args: argparse.Namespace) -> int:
    store = Store()
    if args.action == "rm":
        return _rm(store, args.id, args.yes)
    if args.action == "rename":
        try:
            record = store.rename(args.id, args.name)
        except KeyError:
            raise _unknown(args.id) from None
        print(f"{record.id}: {record.title}")
        return 0
    records = store.analyses()
    if args.json:
        for r in records:
            print(json.dumps(entry(store, r), ensure_ascii=False))
    elif not records:
        print("The library is empty; analyse a VOD first.")
    else:
        print(table(store, records))
    return 0


def entry(store: Store, record: AnalysisRecord) -> dict[str, object]:
    """What the list shows of one analysis, as plain values."""
    return {
        "id": record.id,
        "title": record.title,
        "duration_s": record.duration_s,
        "model": record.model,
        "status": record.status,
        "date": time.strftime("%Y-%m-%d", time.localtime(aired_s(record))),
        "size_bytes": store.size_bytes(record),
        "last_labels": list(record.last_labels),
    }


def table(store: Store, records: list[AnalysisRecord]) -> str:
    lines = [
        "  id  title                           duration  date        size      model / prompts"
    ]
    for r in records:
        day = time.strftime("%Y-%m-%d", time.localtime(aired_s(r)))
        duration = clock(r.duration_s, hours=True) if r.duration_s is not None else "running"
        title = r.title if len(r.title) <= 30 else r.title[:29] + "…"
        lines.append(
            f"{r.id:>4}  {title:<30}  {duration:>8}  {day}  "
            f"{_size(store.size_bytes(r)):>8}  {r.model}"
        )
        if r.last_labels:
            lines.append(f"{'':>60}  prompts: {', '.join(r.last_labels)}")
    return "\n".join(lines)


def _rm(store: Store, analysis_id: int, yes: bool) -> int:
    try:
        record = store.analysis(analysis_id)
    except KeyError:
        raise _unknown(analysis_id) from None
    if not yes:
        prompt = f"Delete {record.title} (analysis {record.id}) and its files? [y/N] "
        print(prompt, end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return 1
    removed = store.delete(analysis_id)
    print(f"Deleted {record.title} (analysis {record.id}): {len(removed)} file(s) removed.")
    return 0


def _unknown(analysis_id: int) -> SearchError:
    return SearchError(
        f"There is no analysis {analysis_id} in this library; run `library list` to see the ids."
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
