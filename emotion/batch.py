"""Many VODs in one go: the inputs spelled out, each analysed as ``analyze`` would, one report.

``expand`` turns what the user gave (files, folders searched recursively for media, a
text file of paths and links, a channel or playlist link) into one item per VOD, in the
order given (a playlist newest first, as the site lists it). ``run_batch`` analyses them
one after another through a runner (``pipeline.run`` with the face's settings), so every
VOD is its own analysis in the library, exactly as a solo ``analyze`` makes it: one
already analysed costs no decoding nor embedding, and a batch stopped anywhere and run
again goes on where it stopped. One VOD failing is recorded with its sentence and the
batch goes on; ``batch.csv`` (written atomically after every VOD) says how each went.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion.atomic import write_text
from emotion.errors import Cancelled, HypelineError, SourceError
from emotion.progress import Progress, ProgressFn

# What a folder is searched for (ffmpeg reads more; these are what a VOD folder holds).
MEDIA_SUFFIXES = frozenset({
    ".mp4", ".mkv", ".mov", ".webm", ".flv", ".ts", ".m4v", ".avi",
    ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus",
})  # fmt: skip
LIST_SUFFIXES = frozenset({".txt", ".list"})  # a text file of paths and links, one a line
CSV_NAME = "batch.csv"
CSV_COLUMNS = ("vod", "title", "analysis_id", "windows", "highlights", "seconds", "error")


@dataclass(frozen=True, slots=True)
class Item:
    """One VOD of the batch: what to open, and why it cannot be when that is known already."""

    spec: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one VOD went: its analysis, or the sentence that stopped it."""

    spec: str
    title: str = ""
    analysis_id: int | None = None
    windows: int = 0
    highlights: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Done:
    """What the runner reports of a VOD it analysed."""

    title: str
    analysis_id: int | None
    windows: int
    highlights: int


def expand(
    inputs: Sequence[str],
    *,
    limit: int | None = None,
    since: str | None = None,
    until: str | None = None,
    probe: Callable[..., dict] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Item]:
    """One item per VOD of ``inputs``, each VOD once (the first time it is named).

    ``limit``, ``since`` and ``until`` (``YYYYMMDD``) bound a channel or playlist link;
    ``probe`` is yt-dlp's metadata call (``emotion.media.downloads.probe``, imported on
    first use: yt-dlp takes half a second).
    """
    if not inputs:
        raise HypelineError("Give the VODs to analyse: files, folders, a list file or a link.")
    for name, value in (("since", since), ("until", until)):
        if value is not None and not (len(value) == 8 and value.isdigit()):
            raise HypelineError(f"The {name} date {value!r} is not YYYYMMDD; write e.g. 20260301.")
    if limit is not None and limit < 1:
        raise HypelineError("The limit counts VODs; give 1 or more.")
    seen: set[str] = set()
    items: list[Item] = []
    for item in _items(inputs, limit, since, until, probe, on_note):
        if item.spec not in seen:
            seen.add(item.spec)
            items.append(item)
    if not items:
        raise HypelineError(
            "No VOD found in what was given (folders are searched for media files: "
            f"{', '.join(sorted(MEDIA_SUFFIXES))}); give files, folders or links."
        )
    return items


def _items(
    inputs: Iterable[str],
    limit: int | None,
    since: str | None,
    until: str | None,
    probe: Callable[..., dict] | None,
    on_note: Callable[[str], None] | None,
) -> Iterator[Item]:
    for text in inputs:
        if _is_link(text):
            yield from _link(text, limit, since, until, probe, on_note)
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in MEDIA_SUFFIXES and p.is_file())  # fmt: skip
            if not found and on_note is not None:
                on_note(f"no media file in {path}")
            yield from (Item(str(p.resolve())) for p in found)
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
            entries = [line for line in lines if line and not line.startswith("#")]
            yield from _items(entries, limit, since, until, probe, on_note)
        elif path.exists():
            yield Item(str(path.resolve()))
        else:  # said by analyze's own sentence, and the batch goes on
            yield Item(text)


def _is_link(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _link(
    url: str,
    limit: int | None,
    since: str | None,
    until: str | None,
    probe: Callable[..., dict] | None,
    on_note: Callable[[str], None] | None,
) -> Iterator[Item]:
    """A video link is itself; a channel or playlist link is its VODs (flat: no page of
    each VOD is fetched), within ``limit`` and the dates when the site gives them."""
    if probe is None:
        from emotion.media.downloads import probe as ytdlp_probe

        probe = ytdlp_probe
    try:
        info = probe(url, noplaylist=False, extract_flat="in_playlist", playlistend=limit)
    except SourceError as e:
        yield Item(url, str(e))
        return
    entries = info.get("entries")
    if entries is None:
        yield Item(url)
        return
    undated = 0
    n = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("webpage_url")
        if not link:
            continue
        date = entry.get("upload_date") or _date_of(entry.get("timestamp"))
        if since is not None or until is not None:
            if date is None:
                undated += 1
            elif (since is not None and date < since) or (until is not None and date > until):
                continue
        if limit is not None and n >= limit:
            break
        n += 1
        yield Item(str(link))
    if undated and on_note is not None:
        on_note(
            f"{undated} VOD(s) of {url} carry no date in the playlist, so --since/--until "
            "could not judge them; they are in the batch"
        )
    if n == 0 and on_note is not None:
        on_note(f"no VOD of {url} is in the batch")


def _date_of(timestamp: object) -> str | None:
    if not isinstance(timestamp, int | float):
        return None
    return time.strftime("%Y%m%d", time.gmtime(timestamp))


def run_batch(
    items: Sequence[Item],
    runner: Callable[[str], Done],
    out_dir: Path,
    *,
    progress: ProgressFn | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Each item through ``runner``, in order; ``batch.csv`` in ``out_dir`` after each.

    A ``HypelineError`` of one VOD is its outcome; anything else (a bug, Ctrl-C, a
    ``Cancelled``) stops the batch, whose finished VODs stay in the library and in ``batch.csv``.
    """
    outcomes: list[Outcome] = []
    worked_s: list[float] = []  # the VODs that took real work: what the ETA is made of
    for i, item in enumerate(items):
        if progress is not None:
            remaining = len(items) - i
            eta = sum(worked_s) / len(worked_s) * remaining if worked_s else None
            failed = sum(not o.ok for o in outcomes)
            progress(Progress("batch", i / len(items),
                              f"VOD {i + 1} of {len(items)}" + (f", {failed} failed" if failed else ""),
                              eta))  # fmt: skip
        began = time.monotonic()
        if item.error is not None:
            outcome = Outcome(item.spec, error=item.error)
        else:
            try:
                done = runner(item.spec)
            except Cancelled:
                raise
            except HypelineError as e:
                outcome = Outcome(item.spec, seconds=time.monotonic() - began, error=str(e))
            else:
                took = time.monotonic() - began
                outcome = Outcome(item.spec, done.title, done.analysis_id, done.windows,
                                  done.highlights, took)  # fmt: skip
                if took > 1.0:  # an analysis already in the library takes a blink
                    worked_s.append(took)
        outcomes.append(outcome)
        write_text(out_dir / CSV_NAME, to_csv(outcomes))
        if on_outcome is not None:
            on_outcome(outcome)
    if progress is not None:
        progress(Progress("batch", 1.0, f"{len(items)} VOD(s)"))
    return outcomes


def to_csv(outcomes: Sequence[Outcome]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for o in outcomes:
        writer.writerow([o.spec, o.title, "" if o.analysis_id is None else o.analysis_id,
                         o.windows, o.highlights, f"{o.seconds:.1f}", o.error or ""])  # fmt: skip
    return buffer.getvalue()
