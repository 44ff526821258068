"""Many VODs in one go: each analysed as ``analyze`` would, one report.

``emotion.batch_inputs.expand`` turns what the user gave into one ``Item`` per VOD;
``run_batch`` analyses them through a runner (``pipeline.run`` with the face's settings),
one after another or a few at once (an engine's lanes, ``emotion.engines``), so every VOD
is its own analysis in the library, exactly as a solo ``analyze`` makes it: one already
analysed costs no decoding nor embedding, and a batch stopped anywhere and run again goes
on where it stopped. One VOD failing is recorded with its sentence and the batch goes on;
``batch.csv`` (written atomically after every VOD) says how each went.

After each VOD, the batch keeps the library in shape for what follows: a link's download
is removed when the batch keeps no media (``disk.remove_download``), and the model's
search index is brought up to date when it is due (``search_index.update``), so that the
first search after a big batch does not build it.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emotion import search_index
from emotion.atomic import write_text
from emotion.batch_inputs import Item
from emotion.errors import Cancelled, HypelineError
from emotion.library.store import Store
from emotion.media import disk
from emotion.media.source import is_link
from emotion.progress import Progress, ProgressFn

CSV_NAME = "batch.csv"
CSV_COLUMNS = ("vod", "title", "analysis_id", "windows", "highlights", "seconds", "error")
LANE_STOP_S = 30.0  # how long a stopped batch waits for each VOD in flight to stop


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
    embedded: int = 0  # windows embedded by this run (0: it was in the library already)
    removed_bytes: int = 0  # its download, removed after its exports (keep_media=False)

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
    embedded: int = 0  # windows embedded by this run (engines.Tally)
    media: Path | None = None  # the file it was read from (a link's: its download)


def run_batch(
    items: Sequence[Item],
    runner: Callable[[str], Done],
    out_dir: Path,
    *,
    lanes: int = 1,
    cancel: threading.Event | None = None,
    progress: ProgressFn | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    store: Store | None = None,
    keep_media: bool = True,
) -> list[Outcome]:
    """Each item through ``runner``; ``batch.csv`` in ``out_dir`` after each; the outcomes
    in ``items``' order.

    With ``lanes`` > 1, that many VODs run at once, each on its own thread (an engine's
    decoders, ``emotion.engines``); the runner must then be safe to call from several.
    A ``HypelineError`` of one VOD is its outcome; anything else (a bug, Ctrl-C, a
    ``Cancelled``) stops the batch, whose finished VODs stay in the library and in
    ``batch.csv``: ``cancel`` is set so that the VODs in flight stop at their next batch.

    ``keep_media=False`` removes a link's download once the runner returned (the VOD
    embedded and its exports written); a local file is never removed. With ``store`` (the
    library the runner writes), each VOD's model's search index is updated when due, one
    update at a time, and brought fully up to date at the end when it exists.
    """
    upkeep = _Upkeep(store, keep_media, progress, on_note)
    tracker = _Tracker(len(items), out_dir, max(1, lanes), progress, on_outcome)
    if lanes <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            tracker.start(i)
            outcome = _outcome(item, runner, upkeep)
            tracker.end(i, outcome)
            upkeep.index(outcome)
    else:
        _in_lanes(items, runner, tracker, upkeep, lanes, cancel)
    upkeep.finish()
    if progress is not None:
        progress(Progress("batch", 1.0, f"{len(items)} VOD(s)" + tracker.rate()))
    return tracker.outcomes()


def _outcome(item: Item, runner: Callable[[str], Done], upkeep: _Upkeep) -> Outcome:
    began = time.monotonic()
    if item.error is not None:
        return Outcome(item.spec, error=item.error)
    try:
        done = runner(item.spec)
    except Cancelled:
        raise
    except HypelineError as e:
        return Outcome(item.spec, seconds=time.monotonic() - began, error=str(e))
    removed = upkeep.media(item, done)
    return Outcome(
        item.spec,
        done.title,
        done.analysis_id,
        done.windows,
        done.highlights,
        time.monotonic() - began,
        embedded=done.embedded,
        removed_bytes=removed,
    )


def _in_lanes(
    items: Sequence[Item],
    runner: Callable[[str], Done],
    tracker: _Tracker,
    upkeep: _Upkeep,
    lanes: int,
    cancel: threading.Event | None,
) -> None:
    """The items on ``lanes`` threads, each taking the next item when it is free."""
    order = iter(range(len(items)))
    guard = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def halt() -> None:
        stop.set()
        if cancel is not None:
            cancel.set()

    def lane(ended: threading.Event) -> None:
        try:
            while not stop.is_set():
                with guard:
                    i = next(order, None)
                if i is None:
                    return
                tracker.start(i)
                try:
                    outcome = _outcome(items[i], runner, upkeep)
                    tracker.end(i, outcome)
                    upkeep.index(outcome)
                except BaseException as e:  # the first stops the batch; the rest follow it
                    with guard:
                        failures.append(e)
                    halt()
                    return
        finally:
            ended.set()

    # Waited for through events, not Thread.join: a join that Ctrl-C interrupts can take
    # a thread for ended while it still runs (and the interpreter then exits under it).
    ended = [threading.Event() for _ in range(min(lanes, len(items)))]
    for k, event in enumerate(ended):
        name = f"hypeline-lane-{k + 1}"
        threading.Thread(target=lane, args=(event,), daemon=True, name=name).start()
    try:
        for event in ended:
            while not event.wait(0.2):  # bounded waits, so Ctrl-C reaches this thread
                pass
    except BaseException:
        halt()  # the lanes stop at their next batch; what they stored stays
        for event in ended:
            event.wait(LANE_STOP_S)
        raise
    if failures:
        raise failures[0]


class _Upkeep:
    """What a batch does after each VOD: its download removed (a batch keeping no media),
    the search index of its model updated when due (never two updates at once: a lane
    finding one under way goes on, and the last update catches up)."""

    def __init__(
        self,
        store: Store | None,
        keep_media: bool,
        progress: ProgressFn | None,
        on_note: Callable[[str], None] | None,
    ) -> None:
        self._store, self._keep_media = store, keep_media
        self._progress, self._on_note = progress, on_note
        self._models: set[str] = set()  # the models of the VODs analysed
        self._indexing = threading.Lock()
        self._guard = threading.Lock()
        self._told: set[str] = set()

    def media(self, item: Item, done: Done) -> int:
        """Bytes of ``item``'s download removed (0: kept, or not a download)."""
        if self._keep_media or done.media is None or not is_link(item.spec):
            return 0
        removed = disk.remove_download(done.media)
        return removed.size_bytes if removed is not None else 0

    def index(self, outcome: Outcome) -> None:
        """The index of the model of ``outcome``'s analysis, updated if due (and if no
        other lane is updating an index right now)."""
        if self._store is None or not outcome.ok or outcome.analysis_id is None:
            return
        try:
            model = self._store.analysis(outcome.analysis_id).model
        except KeyError:  # deleted meanwhile (the dashboard, another process)
            return
        with self._guard:
            self._models.add(model)
        if self._indexing.acquire(blocking=False):
            try:
                self._update(model, only_if_due=True)
            finally:
                self._indexing.release()

    def finish(self) -> None:
        """Each model's index, when there is one (or one is due), holding every analysis."""
        if self._store is None:
            return
        with self._indexing:
            for model in sorted(self._models):
                self._update(model, only_if_due=search_index.status(self._store, model) is None)

    def _update(self, model: str, only_if_due: bool) -> None:
        assert self._store is not None
        store = self._store
        try:
            search_index.update(
                store, model, self._progress, self._on_note, only_if_due=only_if_due
            )
        except ImportError:  # faiss-cpu missing: searches scan every window (said once)
            why = "faiss-cpu is not installed, so searches of this library scan every window"
            self._note_once("faiss", f"{why}; install it with pip install faiss-cpu.")
        except (OSError, HypelineError) as e:  # a full disk: the next update tries again
            why = f"The search index of {model} could not be updated ({e})"
            self._note_once(model, f"{why}; free some space in {store.home} or make it writable.")

    def _note_once(self, key: str, text: str) -> None:
        with self._guard:
            if key in self._told or self._on_note is None:
                return
            self._told.add(key)
        self._on_note(text)


class _Tracker:
    """The outcomes so far, ``batch.csv`` and the batch's progress, for one or many lanes."""

    def __init__(
        self,
        n: int,
        out_dir: Path,
        lanes: int,
        progress: ProgressFn | None,
        on_outcome: Callable[[Outcome], None] | None,
    ) -> None:
        self._n, self._out_dir, self._lanes = n, out_dir, lanes
        self._progress, self._on_outcome = progress, on_outcome
        self._done: dict[int, Outcome] = {}
        self._worked_s: list[float] = []  # the VODs that took real work: the ETA's
        self._began = time.monotonic()
        self._lock = threading.Lock()

    def start(self, i: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            done = len(self._done)
            remaining = self._n - done
            worked = self._worked_s
            eta = sum(worked) / len(worked) * remaining / self._lanes if worked else None
            failed = sum(not o.ok for o in self._done.values())
            failures = f", {failed} failed" if failed else ""
            message = f"VOD {i + 1} of {self._n}{failures}{self.rate()}"
            self._progress(Progress("batch", done / self._n, message, eta))

    def end(self, i: int, outcome: Outcome) -> None:
        with self._lock:
            self._done[i] = outcome
            if outcome.ok and outcome.seconds > 1.0:  # one in the library takes a blink
                self._worked_s.append(outcome.seconds)
            write_text(self._out_dir / CSV_NAME, to_csv(self.outcomes()))
            if self._on_outcome is not None:
                self._on_outcome(outcome)

    def rate(self) -> str:
        """``, N windows/s`` embedded over the batch so far (nothing before any)."""
        embedded = sum(o.embedded for o in self._done.values())
        elapsed = time.monotonic() - self._began
        return f", {embedded / elapsed:.1f} windows/s" if embedded and elapsed > 0 else ""

    def outcomes(self) -> list[Outcome]:
        return [self._done[i] for i in sorted(self._done)]


def to_csv(outcomes: Sequence[Outcome]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for o in outcomes:
        analysis_id = "" if o.analysis_id is None else o.analysis_id
        seconds = f"{o.seconds:.1f}"
        writer.writerow(
            [o.spec, o.title, analysis_id, o.windows, o.highlights, seconds, o.error or ""]
        )
    return buffer.getvalue()
