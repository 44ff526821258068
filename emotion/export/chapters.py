"""``chapters.txt``: YouTube chapters to paste into the VOD's description.

YouTube ignores the whole list unless it starts at ``0:00``, has at least 3 chapters in
ascending order, and every chapter (the last one included, up to the end of the video) is
at least 10 s long. We build it in whole seconds, rounded down so a chapter starts just
before its moment:

1. ``0:00 Intro``, then one chapter per highlight at its start, titled with its label, and
   a neutral chapter where the highlight ends (at least 10 s after its start), so a
   label does not claim the quiet stretch up to the next highlight. YouTube shows every
   chapter's title, so a neutral one is named for the VOD (its title, else ``Stream``).
2. A chapter that would start less than 10 s after the previous one: a neutral one is
   dropped (the previous chapter runs on); a highlight drops a neutral chapter before it,
   else joins the previous chapter's title (``win / laugh``), or takes over ``Intro`` at
   ``0:00``. A highlight in the last 10 s starts its chapter 10 s before the end.
3. Fewer than 3 chapters: the longest chapter of 20 s or more is split in two with a
   neutral chapter until there are 3; where no chapter is that long, 3 chapters are spread evenly.
4. A VOD shorter than 30 s cannot hold a valid list: the file is still written (what the
   rules above give) and the note says YouTube will ignore it. With no highlights the
   file holds only ``0:00 Intro``, with a note.

Every adjustment comes back as a note for the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from emotion.analysis import Analysis
from emotion.clock import clock
from emotion.export.timefmt import by_start, media_duration_s

MIN_CHAPTER_S = 10
MIN_CHAPTERS = 3
INTRO = "Intro"
STREAM = "Stream"  # a neutral chapter's title when the VOD has none


@dataclass(frozen=True, slots=True)
class Chapter:
    start_s: int
    title: str
    neutral: bool = False  # Intro or a stretch between highlights: may be dropped or retitled


def _title(label: str) -> str:
    return " ".join(label.split()) or "Highlight"


def between_title(analysis: Analysis) -> str:
    """The title of a neutral chapter between highlights: the VOD's own, else ``Stream``."""
    return " ".join(analysis.source.title.split()) or STREAM


def _join(a: str, b: str) -> str:
    parts = a.split(" / ")
    return a if b in parts else f"{a} / {b}"


def build(analysis: Analysis) -> tuple[list[Chapter], list[str]]:
    """The chapters for ``analysis.highlights`` and the notes on what was adjusted."""
    duration_s = math.floor(media_duration_s(analysis))
    last_start_s = max(0, duration_s - MIN_CHAPTER_S)  # the last chapter runs to the end
    between = between_title(analysis)
    notes: list[str] = []
    highlights = by_start(analysis.highlights)
    if not highlights:
        return [Chapter(0, INTRO, neutral=True)], [
            "No highlights, so chapters.txt holds only 0:00 Intro; YouTube shows no "
            "chapters for fewer than 3."
        ]

    marks: list[Chapter] = []
    clamped = 0
    for h in highlights:
        start_s = math.floor(h.start_s)
        if start_s > last_start_s:
            clamped += 1
        marks.append(Chapter(min(start_s, last_start_s), _title(h.label)))
        after_s = max(math.ceil(h.end_s), start_s + MIN_CHAPTER_S)
        if after_s <= last_start_s:
            marks.append(Chapter(after_s, between, neutral=True))
    marks.sort(key=lambda c: (c.start_s, c.neutral))
    if clamped:
        notes.append(
            f"{clamped} highlight(s) in the last {MIN_CHAPTER_S} s start their chapter at "
            f"{clock(last_start_s)}, since YouTube's last chapter must be "
            f"{MIN_CHAPTER_S} s long."
        )

    chapters = [Chapter(0, INTRO, neutral=True)]
    merged = 0
    for mark in marks:
        if mark.start_s - chapters[-1].start_s >= MIN_CHAPTER_S:
            chapters.append(mark)
            continue
        if mark.neutral:
            continue
        while len(chapters) > 1 and chapters[-1].neutral:
            chapters.pop()  # a highlight outranks the quiet stretch before it
        if mark.start_s - chapters[-1].start_s >= MIN_CHAPTER_S:
            chapters.append(mark)
        elif chapters[-1].neutral:  # only Intro is left before it: the highlight opens at 0:00
            chapters[-1] = Chapter(0, mark.title)
        else:
            merged += 1
            chapters[-1] = Chapter(chapters[-1].start_s, _join(chapters[-1].title, mark.title))
    if merged:
        notes.append(
            f"{merged} highlight(s) less than {MIN_CHAPTER_S} s after the previous chapter "
            "were merged into its title, since YouTube needs chapters of at least "
            f"{MIN_CHAPTER_S} s."
        )

    if len(chapters) < MIN_CHAPTERS:
        if duration_s < MIN_CHAPTERS * MIN_CHAPTER_S:
            notes.append(
                f"The VOD is {duration_s} s long: YouTube needs {MIN_CHAPTERS} chapters of at "
                f"least {MIN_CHAPTER_S} s ({MIN_CHAPTERS * MIN_CHAPTER_S} s), so it will ignore "
                "chapters.txt."
            )
        else:
            added = MIN_CHAPTERS - len(chapters)
            chapters = _pad(chapters, duration_s, between)
            notes.append(
                f"Added {added} neutral chapter(s) to reach YouTube's minimum of "
                f"{MIN_CHAPTERS} chapters."
            )
    return chapters, notes


def _pad(chapters: list[Chapter], duration_s: int, between: str) -> list[Chapter]:
    """Reach ``MIN_CHAPTERS`` by splitting long chapters, else by spreading them evenly."""
    chapters = list(chapters)
    while len(chapters) < MIN_CHAPTERS:
        ends = [c.start_s for c in chapters[1:]] + [duration_s]
        lengths = [end - c.start_s for c, end in zip(chapters, ends, strict=True)]
        i = max(range(len(lengths)), key=lengths.__getitem__)
        if lengths[i] < 2 * MIN_CHAPTER_S:
            step = duration_s // MIN_CHAPTERS  # >= 10 s, as duration_s >= 30 s here
            titles = [c.title for c in chapters]
            titles += [between] * (MIN_CHAPTERS - len(titles))
            return [Chapter(k * step, t) for k, t in enumerate(titles)]
        mid_s = chapters[i].start_s + lengths[i] // 2
        chapters.insert(i + 1, Chapter(mid_s, between, neutral=True))
    return chapters


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``chapters.txt`` (``M:SS Title`` lines); the notes say what was adjusted."""
    chapters, notes = build(analysis)
    lines = [f"{clock(c.start_s)} {c.title}\n" for c in chapters]
    path.write_text("".join(lines), encoding="utf-8")
    return notes
