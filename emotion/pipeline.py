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
* ``chosen``  the highlights the exports hold: the kept ones, or all but the dropped.
* ``for_export``  those highlights as the user trimmed them (``Store.set_trim``).
* ``export`` / ``export_files``  the chosen highlights → files in a folder / as bytes.
* ``run``     all of it in one call (the CLI's ``analyze``, batch).
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from emotion.export import FILENAMES, FORMATS, write_exports
from emotion.library.store import AnalysisRecord, Store, Trim, review_key
from emotion.media.source import Source, SourcePolicy
from emotion.media.sources import open_source, source_identity
from emotion.progress import ProgressFn
from emotion.scoring.highlights import Highlight, HighlightSettings, overlaps_moment, with_moments
from emotion.scoring.keywords import DEFAULT_KEYWORDS, check_keywords
from emotion.scoring.prompts import Prompts
from emotion.scoring.windows import check_grid

if TYPE_CHECKING:  # the model module imports torch (seconds); faces import this first
    from emotion.export.post_settings import ReelSettings, ShortSettings
    from emotion.model.clap import Clap

Note = Callable[[str], None]


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


@dataclass(frozen=True)
class ExportSettings:
    """Which files to write, and how."""

    formats: tuple[str, ...] = FORMATS
    clips: bool = False
    clip_padding_s: float = 1.0
    fps: float | None = None  # the EDL's and FCPXML's frame rate; None: the video's, else 30
    thumbnails: bool = False  # also a JPEG still per highlight in thumbnails/ (at its peak)
    shorts: ShortSettings | None = None  # also a vertical short per highlight in shorts/
    reel: ReelSettings | None = None  # also reel.mp4 (and reel-chapters.txt) of the best ones


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
        clap, store, source, source_identity(source), window_s, hop_s, batch_size=batch_size,
        progress=progress, cancel=cancel, audio_track=audio_track, wait=wait, on_note=on_note,
        on_open=on_open, embed=embed_audio, embedder=embedder,
    )  # fmt: skip
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
    if settings.learn:
        from emotion.scoring.adapt import describe, learn  # reads the whole library's picks

        adapter = learn(
            store, clap, list(prompts.labels), list(prompts.background), prompts.template,
            list(examples),  # type: ignore[arg-type]
        )  # fmt: skip
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
        record, vectors, clap, list(prompts.labels), list(prompts.background), prompts.template,
        rules, adapter=adapter,
    )  # fmt: skip
    analysis.rules = settings.highlights
    kept = store.kept_moments(record.id)
    if chat is not None:
        rank = default_rank(settings.rank, has_chat=True)
        judged, analysis.chat = judge(
            analysis.highlights, analysis.scores, len(prompts.labels), record.hop_s,
            analysis.duration_s, rules.scale, chat, rank, settings.highlights.top_k,
            settings.chat_moments,
        )  # fmt: skip
        analysis.highlights = with_reactions(
            with_moments(judged, kept), chat.reactions.series, analysis.chat.lag_s
        )
    else:
        analysis.highlights = with_moments(analysis.highlights, kept)
    if record.last_labels != prompts.labels:
        store.set_last_labels(record.id, list(prompts.labels))
    return analysis


def chosen(
    highlights: Sequence[Highlight],
    reviews: Mapping[tuple[str, float], bool],
    moments: Sequence[tuple[str, float, float]] = (),
) -> list[Highlight]:
    """The highlights the exports hold: the kept ones; while none is kept, all but the
    dropped ones (so before any review, all of them). A highlight holding a moment kept by
    hand (``moments``) is kept, unless it was dropped itself."""

    def status(h: Highlight) -> bool | None:
        said = reviews.get(review_key(h.label, h.start_s))
        return True if said is None and overlaps_moment(h, moments) else said

    marks = [status(h) for h in highlights]
    kept = [h for h, s in zip(highlights, marks, strict=True) if s is True]
    return kept or [h for h, s in zip(highlights, marks, strict=True) if s is not False]


def trimmed(
    highlights: Sequence[Highlight],
    trims: Mapping[tuple[str, float], Trim],
    duration_s: float | None = None,
) -> list[Highlight]:
    """The highlights with the edges the user moved (``Trim``, by review key), inside the
    VOD and at least ``MIN_TRIMMED_S`` long, the peak kept inside; in time order."""
    out = []
    for h in highlights:
        trim = trims.get(review_key(h.label, h.start_s))
        if trim is not None and trim.moved:
            start_s, end_s = trim.span(h.start_s, h.end_s, duration_s)
            peak_s = min(max(h.peak_s, start_s), end_s)
            h = dataclasses.replace(h, start_s=start_s, end_s=end_s, peak_s=peak_s)
        out.append(h)
    return sorted(out, key=lambda h: (h.start_s, h.label))


def for_export(analysis: Analysis, store: Store, *, trim: bool = True) -> Analysis:
    """``analysis`` with only the highlights its exports hold (by the library's reviews),
    each trimmed as the user trimmed it (``trim=False``: as found, to tell which were chosen)."""
    if analysis.analysis_id is None:
        return analysis
    reviews = store.reviews(analysis.analysis_id)
    moments = store.kept_moments(analysis.analysis_id)
    picked = chosen(analysis.highlights, reviews, moments)
    if trim:
        picked = trimmed(picked, store.trims(analysis.analysis_id), analysis.duration_s or None)
    return dataclasses.replace(analysis, highlights=picked)


def export(
    analysis: Analysis,
    store: Store,
    out_dir: Path,
    exports: ExportSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    on_note: Note | None = None,
) -> list[Path]:
    """Write the chosen highlights' files into ``out_dir`` (all or nothing); the paths.

    With ``exports.thumbnails``, ``thumbnails/`` follows: each still is written whole and
    one already there is kept (``emotion.export.thumbnails``); an audio-only source gets
    none, and a note. Then, with ``exports.shorts``, ``shorts/`` (one vertical short per
    highlight, one already there kept: ``emotion.export.shorts``) and, with
    ``exports.reel``, ``reel.mp4`` and its chapters (``emotion.export.reel``), of the same
    highlights; with no highlights there is nothing to render, and a note says so.
    """
    exports = exports or ExportSettings()
    analysis = for_export(analysis, store)
    written = write_exports(
        analysis, out_dir, exports.formats, clips=exports.clips,
        clip_padding_s=exports.clip_padding_s, fps=exports.fps, progress=progress,
        on_note=on_note,
    )  # fmt: skip
    if exports.thumbnails:
        from emotion.export.thumbnails import write_thumbnails

        source = analysis.source
        stills = write_thumbnails(source.path, analysis.highlights, out_dir, progress,
                                  has_video=source.has_video)  # fmt: skip
        written += stills.paths
        for note in stills.notes:
            if on_note is not None:
                on_note(note)
    if exports.shorts is not None or exports.reel is not None:
        written += _posts(analysis, out_dir, exports, progress, on_note)
    return written


def _posts(
    analysis: Analysis,
    out_dir: Path,
    exports: ExportSettings,
    progress: ProgressFn | None,
    on_note: Note | None,
) -> list[Path]:
    """The shorts and the reel of ``analysis``'s highlights, as ``hypeline shorts`` makes them."""
    if not analysis.highlights:
        if on_note is not None:
            asked = (("shorts", exports.shorts), ("a reel", exports.reel))
            what = " or ".join(name for name, on in asked if on is not None)
            on_note(f"There are no highlights to make {what} of; lower the threshold or keep a "
                    "moment by hand first.")  # fmt: skip
        return []
    source = analysis.source
    written: list[Path] = []
    if exports.shorts is not None:  # ffmpeg renders; imported only when asked
        from emotion.export.shorts import write_shorts

        written += write_shorts(source, analysis.highlights, out_dir, exports.shorts, progress,
                                audio_track=analysis.audio_track, on_note=on_note)  # fmt: skip
    if exports.reel is not None:
        from emotion.export.reel import write_reel

        made = write_reel(
            source.path, analysis.highlights, out_dir, exports.reel, progress,
            audio_track=analysis.audio_track, has_video=source.has_video, on_note=on_note,
        )  # fmt: skip
        written += [made.path, *([made.chapters] if made.chapters else [])]
    return written


def export_files(
    analysis: Analysis, store: Store, formats: Iterable[str] = FORMATS
) -> tuple[dict[str, bytes], list[str]]:
    """Each format's file of the chosen highlights as bytes, and the writers' notes."""
    formats = list(formats)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hypeline-export-") as tmp:
        export(analysis, store, Path(tmp), ExportSettings(tuple(formats)), on_note=notes.append)
        return {fmt: (Path(tmp) / FILENAMES[fmt]).read_bytes() for fmt in formats}, notes


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
        source, clap, store, window_s=settings.window_s, hop_s=settings.hop_s,
        audio_track=settings.audio_track, batch_size=batch_size, progress=progress,
        cancel=cancel, wait=wait, on_note=on_note, chat=settings.chat, embedder=embedder,
        chat_keywords=settings.chat_keywords,
    )  # fmt: skip
    analysis = moments(record, store, clap, settings, examples=examples, on_note=on_note)
    folder = out_dir(source) if callable(out_dir) else out_dir
    written = export(analysis, store, folder, exports, progress=progress, on_note=on_note)
    return Result(analysis, folder, written)
