"""A monitor's analysis in the store: opened at the first audio, or the one a killed monitor
left found again and continued (its cells and alerts picked up where they were); its
windows and gaps appended under its lease; finished.

A live analysis's identity is ``live:<canonical link or file path>@<when it began>``. A
monitor started on a source with the model and grid of an analysis of it that never
finished (its monitor was killed) continues that one, so a kill costs a gap in the
analysis, not a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotion.errors import BusyError
from emotion.lease import Lease
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.live.alerts import AlertTracker
from emotion.live.grid import LiveCells
from emotion.live.recorder import assemble
from emotion.live.scorer import WindowScorer
from emotion.live.target import Target
from emotion.media.source import Source, canonical_url

if TYPE_CHECKING:
    from emotion.model.clap import Clap


class LiveAppender:
    """The right to write one live analysis, and its writes (``open`` finds or makes it)."""

    def __init__(
        self, store: Store, record: AnalysisRecord, lease: Lease, opened_at: float
    ) -> None:
        self.store = store
        self.record = record
        self.lease = lease
        self.opened_at = opened_at  # time.time() when the monitor opened it

    @classmethod
    def open(
        cls,
        store: Store,
        target: Target,
        clap: Clap,
        window_s: float,
        hop_s: float,
        on_note: Callable[[str], None],
    ) -> LiveAppender:
        """A new analysis, or the one a killed monitor left; a ``BusyError`` while another
        monitor writes it."""
        spec = str(Path(target.spec).resolve()) if target.is_file else canonical_url(target.spec)
        key = "live:" + spec
        grid = (clap.name, window_s, hop_s, clap.precision)
        same = [
            r
            for r in store.running_live(key + "@")
            if (r.model, r.window_s, r.hop_s, r.precision) == grid
        ]
        now = time.time()
        identity = f"{key}@{int(now)}"
        if same:
            identity = key + "@" + _identity_suffix(same[0])
        folder = store.home / "recordings" / hashlib.sha256(identity.encode()).hexdigest()[:16]
        began = same[0].published if same and same[0].published else now
        when = dt.datetime.fromtimestamp(began, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        source = Source(
            path=folder / "recording.ogg",
            title=f"{target.title} (live {when})",
            duration_s=None,
            url=None if target.is_file else target.spec,
        )
        record = store.open_analysis(
            source,
            identity,
            clap.name,
            window_s,
            hop_s,
            clap.embedding_dim,
            precision=clap.precision,
            kind="live",
            published=began,
        )
        lease = store.lease(record.id)
        if lease is None:
            raise BusyError(
                "Another monitor is following this stream into the same analysis; stop it first."
            )
        try:
            record, note = store.repair(lease, record.id)
        except BaseException:
            lease.release()
            raise
        if note is not None:
            on_note(note)
        return cls(store, record, lease, now)

    @property
    def folder(self) -> Path:
        """Where the analysis's recording (and its parts while running) is kept."""
        return self.record.source.path.parent

    def lost_s(self, position_s: float) -> float | None:
        """Resumed after a kill: the audio since the last stored window (which ends at
        ``position_s``) and the time the monitor was down, a gap; None for a new analysis."""
        record = self.record
        if record.n_done == 0 and not (record.duration_s or 0) > 0:
            return None
        heard_s = max(record.duration_s or 0.0, position_s)
        return heard_s - position_s + max(0.0, self.opened_at - record.updated)

    def gaps(self) -> list[tuple[float, float]]:
        return [(start_s, end_s) for start_s, end_s in self.store.gaps(self.record.id)]

    def resume_cells(
        self, scorer: WindowScorer, tracker: AlertTracker, window_s: float, hop_s: float
    ) -> LiveCells:
        """The cells from window ``n_done`` on, averaging in the stored windows before it as
        a VOD's cells do. The alerts are put back where the killed run left them (a moment
        it alerted and that goes on is not alerted again), from the cells of those windows."""
        n_done = self.record.n_done
        keep = 2 * math.ceil(window_s / hop_s)  # enough cells to settle the hysteresis
        earlier = np.asarray(self.store.vectors(self.record)[-keep:])
        if not len(earlier):
            return LiveCells(window_s, hop_s, n_done)
        probabilities = scorer.probabilities(earlier)
        replay = LiveCells(window_s, hop_s, n_done - len(earlier))
        for i, p in enumerate(probabilities, start=n_done - len(earlier)):
            tracker.update(*replay.push(i, p))  # said by the killed run already
        tracker.forget_cooldowns()
        return LiveCells(window_s, hop_s, n_done, probabilities)

    def append(self, vectors: np.ndarray, n_done: int, position_s: float) -> None:
        """The next windows' vectors, counted up to ``n_done``; heard up to ``position_s``."""
        record = self.record
        self.store.append(self.lease, record.id, record.dim, vectors, n_done)
        self.store.live_position(self.lease, record.id, position_s)

    def add_gap(self, start_s: float, end_s: float) -> None:
        self.store.add_gap(self.lease, self.record.id, start_s, end_s)

    def finish(self, duration_s: float, sampling_rate: int | None) -> AnalysisRecord:
        """The finished analysis; with a ``sampling_rate``, its recorded parts joined first."""
        if sampling_rate is not None:
            assemble(self.folder, self.record.source.path, sampling_rate)
        self.store.finish(self.lease, self.record.id, duration_s)
        self.record = self.store.analysis(self.record.id)
        return self.record

    def release(self) -> None:
        self.lease.release()


def _identity_suffix(record: AnalysisRecord) -> str:
    return str(int(record.published)) if record.published else "0"
