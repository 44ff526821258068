"""The one pipeline: a VOD → its stored embeddings → moments → the files a streamer posts.

Every face (the CLI, the dashboard, the HTTP API, batch) goes through here, the way
faster-whisper's faces go through ``transcribe``: they turn their input into ``Settings``
and the result into their medium, and nothing between is assembled twice. So a moment
kept from Search, a review, a learned pick reach every face's exports alike.

* ``embed``   a source (link, path or an opened ``Source``) → its analysis in the library
              (the expensive half, resumable; ``emotion.analysis.embed_source``), with its
              chat replay parsed once and stored beside it.
* ``moments`` an analysis → scores and highlights from the stored vectors, with the
              moments kept by hand added (the cheap half: arithmetic, no audio), judged by
              the stored chat when it has one (``emotion.chat.judge``).
* ``run``     all of it in one call (the CLI's ``analyze``, batch): open → embed → moments
              → ``emotion.pipeline_export.export`` (the export half: which highlights
              the exports hold, trimmed, and their files).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emotion.analysis import (
    DEFAULT_HOP_S,
    DEFAULT_WINDOW_S,
    Analysis,
    Embedder,
    embed_source,
    score,
)
from emotion.chat import stored
from emotion.chat.formats import detect_format
from emotion.chat.judge import SOUND, check_rank, default_rank, judge, with_reactions
from emotion.library.records import AnalysisRecord
from emotion.library.store import Store
from emotion.media.source import Source, SourcePolicy
from emotion.media.sources import open_source, source_identity
from emotion.pipeline_export import ExportSettings, Note, export
from emotion.progress import ProgressFn
from emotion.scoring.adapt import describe, learn
from emotion.scoring.highlights import HighlightSettings, with_moments
from emotion.scoring.keywords import DEFAULT_KEYWORDS, check_keywords
from emotion.scoring.prompts import Prompts
from emotion.scoring.windows import check_grid

if TYPE_CHECKING:  # the model module imports torch (seconds); faces import this first
    from emotion.model.clap import Clap


@dataclass(frozen=True)
class Settings:
    """What one analysis is asked for. The defaults live here once; faces take them."""

    prompts: Prompts
    highlights: HighlightSettings = field(default_factory=HighlightSettings)
    window_s: float = DEFAULT_WINDOW_S
    hop_s: float = DEFAULT_HOP_S
    audio_track: int | None = None  # numbered from 1; None: the file's default track
    learn: bool = False  # adapt the labels to the picks kept and rejected in the library
    chat: Path | None = None  # a chat replay file to attach (embed, run)
    rank: str | None = None  # sound | chat | both (emotion.chat.judge); None: both with chat
    chat_moments: bool = False  # also report chat spikes with no sound behind them
    chat_keywords: tuple[str, ...] = DEFAULT_KEYWORDS  # emotes, words, 2-word phrases counted

    def check(self) -> Settings:
        """These settings, once the grid, the highlight rules and the rank are known to be
        sound, and a chat file to be chat (its first bytes: the whole is read by ``embed``)."""
        check_grid(self.window_s, self.hop_s)
        self.highlights.check(self.prompts.labels)
        check_rank(self.rank)
        check_keywords(self.chat_keywords)
        if self.chat is not None:
            detect_format(self.chat)
        return self


def open_spec(
    spec: str | Path | Source,
    policy: SourcePolicy | None = None,
    progress: ProgressFn | None = None,
) -> Source:
    """A ``Source`` for a link or a path (downloading a link), or the one given."""
    if isinstance(spec, Source):
        return spec
    return open_source(spec, progress=progress, policy=policy)


def embed(
    source: Source,
    clap: Clap,
    store: Store,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    hop_s: float = DEFAULT_HOP_S,
    audio_track: int | None = None,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    wait: bool = True,
    on_note: Note | None = None,
    on_open: Callable[[AnalysisRecord], None] | None = None,
    embed_audio: Callable[[list[np.ndarray]], np.ndarray] | None = None,
    embedder: Embedder | None = None,
    chat: Path | None = None,
    chat_keywords: Sequence[str] = DEFAULT_KEYWORDS,
) -> AnalysisRecord:
    """The expensive half: every window of ``source`` embedded into the library (resumed,
    or followed when another caller is at it). ``embed_audio`` stands in for
    ``clap.embed_audio`` (a server's ``Batcher``), ``embedder`` the decoding and the model
    (a batch's engine, ``emotion.engines``); the numbers are the same.

    A ``chat`` replay file is read first (a bad one fails before any window is embedded)
    and attached once the analysis exists, replacing the chat it had.
    """
    parsed = None
    if chat is not None:
        parsed = stored.read_file(
            chat, window_s, hop_s, source.duration_s, chat_keywords, progress=progress
        )
        if (note := stored.beyond_note(parsed)) is not None and on_note is not None:
            on_note(note)
    record = embed_source(
        clap,
        store,
        source,
        source_identity(source),
        window_s,
        hop_s,
        batch_size=batch_size,
        progress=progress,
        cancel=cancel,
        audio_track=audio_track,
        wait=wait,
        on_note=on_note,
        on_open=on_open,
        embed=embed_audio,
        embedder=embedder,
    )
    if parsed is not None:
        stored.attach(store, record.id, parsed)
    return record


def moments(
    record: AnalysisRecord,
    store: Store,
    clap: Clap,
    settings: Settings,
    *,
    vectors: np.ndarray | None = None,
    examples: Sequence[object] = (),
    on_note: Note | None = None,
) -> Analysis:
    """The cheap half: scores and highlights from the stored vectors, with the moments kept
    by hand (search hits added to the highlights) among them, in time order.

    ``vectors`` saves reading them again (a page caches them); ``examples`` are a prompt
    pack's learned picks, used with ``settings.learn``. The labels are remembered as the
    analysis's last ones (the library lists them). When the analysis has a stored chat,
    each highlight carries chat's reaction and ``top_k`` keeps by ``settings.rank``
    (``emotion.chat.judge``); without one, a rank by chat is noted and sound ranks.
    """
    prompts = settings.prompts
    adapter = None
    if settings.learn:  # reads the whole library's picks
        adapter = learn(
            store,
            clap,
            list(prompts.labels),
            list(prompts.background),
            prompts.template,
            list(examples),  # type: ignore[arg-type]
        )
        for report in adapter.reports:
            if on_note is not None:
                on_note(f"learned {describe(report)}")
    if vectors is None:
        vectors = store.vectors(record)
    chat = stored.load(store, record.id, settings.chat_keywords)
    if chat is not None and on_note is not None:
        for note in chat.notes:  # keywords chat did not use; an old chat keeps the defaults
            on_note(note)
    rules = settings.highlights
    if chat is not None:  # chat ranks: top_k keeps by that rank, below
        rules = dataclasses.replace(rules, top_k=None)
    elif settings.rank not in (None, SOUND) and on_note is not None:
        on_note("This analysis has no chat replay; its highlights are ranked by sound.")
    analysis = score(
        record,
        vectors,
        clap,
        list(prompts.labels),
        list(prompts.background),
        prompts.template,
        rules,
        adapter=adapter,
    )
    analysis.rules = settings.highlights
    kept = store.kept_moments(record.id)
    if chat is not None:
        rank = default_rank(settings.rank, has_chat=True)
        judged, analysis.chat = judge(
            analysis.highlights,
            analysis.scores,
            len(prompts.labels),
            record.hop_s,
            analysis.duration_s,
            rules.scale,
            chat,
            rank,
            settings.highlights.top_k,
            settings.chat_moments,
        )
        analysis.highlights = with_reactions(
            with_moments(judged, kept), chat.reactions.series, analysis.chat.lag_s
        )
    else:
        analysis.highlights = with_moments(analysis.highlights, kept)
    if record.last_labels != prompts.labels:
        store.set_last_labels(record.id, list(prompts.labels))
    return analysis


@dataclass
class Result:
    """What ``run`` made: the scored analysis and the files written."""

    analysis: Analysis
    out_dir: Path
    written: list[Path]


def run(
    spec: str | Path | Source,
    clap: Clap,
    store: Store,
    settings: Settings,
    out_dir: Path | Callable[[Source], Path],
    exports: ExportSettings | None = None,
    *,
    policy: SourcePolicy | None = None,
    batch_size: int | None = None,
    examples: Sequence[object] = (),
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    wait: bool = True,
    on_note: Note | None = None,
    embedder: Embedder | None = None,
) -> Result:
    """A VOD to exported files in one call: open → embed → moments → reviews → exports.

    ``out_dir`` may be a function of the opened source (its title names the folder);
    ``embedder`` is a batch engine's (``emotion.engines``).
    """
    settings.check()
    exports = exports or ExportSettings()
    prompts = settings.prompts.fit(clap)  # before any download
    source = open_spec(spec, policy, progress)
    settings = dataclasses.replace(settings, prompts=prompts)
    record = embed(
        source,
        clap,
        store,
        window_s=settings.window_s,
        hop_s=settings.hop_s,
        audio_track=settings.audio_track,
        batch_size=batch_size,
        progress=progress,
        cancel=cancel,
        wait=wait,
        on_note=on_note,
        chat=settings.chat,
        embedder=embedder,
        chat_keywords=settings.chat_keywords,
    )
    analysis = moments(record, store, clap, settings, examples=examples, on_note=on_note)
    folder = out_dir(source) if callable(out_dir) else out_dir
    written = export(analysis, store, folder, exports, progress=progress, on_note=on_note)
    return Result(analysis, folder, written)
