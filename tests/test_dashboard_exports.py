"""The export panel says why it holds fewer than all the highlights (AppTest, and the text)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotion import pipeline
from emotion.analysis import Analysis, embed_source
from emotion.clock import clock
from emotion.library.records import review_key
from emotion.library.store import Store
from emotion.media.source import Source
from emotion.media.sources import open_source, source_identity
from emotion.scoring.highlights import Highlight
from tests import test_dashboard as dashboard
from tests.test_dashboard import app, rows
from ui import exports

# The dashboard tests' fixtures: a fresh HYPELINE_HOME, the synthetic VOD.
home = dashboard.home
vod = dashboard.vod


def why(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(":material/filter_alt:")]


def test_the_panel_says_what_a_keep_or_an_untick_leaves_out(home: Path, vod: Path, clap) -> None:
    store = Store(home)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    at = app()
    at.session_state.analysis_id = record.id
    at.run()
    assert not at.exception, at.exception
    table = rows(at)
    n = len(table)
    assert n >= 2, table
    assert why(at) == []  # before any review: all of them, nothing to explain

    hs = pipeline.moments(record, store, clap, at.session_state["settings"].pipeline).highlights
    assert [(h.label, clock(h.start_s)) for h in hs] == [r[:2] for r in table]
    store.set_review(record.id, hs[0].label, hs[0].start_s, True)  # Keep ticked on one row
    at.run()
    assert any(m.value == f"**Export 1 of {n} highlights**" for m in at.markdown)
    assert why(at) == [
        f":material/filter_alt: Exporting your 1 kept moment of {n} — untick Keep to export "
        "the others."
    ]

    store.set_review(record.id, hs[0].label, hs[0].start_s, False)  # unticked again: rejected
    at.run()
    assert why(at) == [
        f":material/filter_alt: Exporting {n - 1} of {n} highlights: the 1 you unticked is "
        "left out."
    ]


def _analysis(n: int) -> Analysis:
    return Analysis(
        source=Source(Path("vod.mp4"), "VOD", 600.0),
        model="m",
        window_s=10.0,
        hop_s=5.0,
        template="{}",
        labels=["win"],
        background=[],
        window_starts_s=np.zeros(0),
        scores=np.zeros((0, 1), dtype=np.float32),
        analysis_id=1,
        highlights=[Highlight("win", 60.0 * i, 60.0 * i + 10, 60.0 * i, 0.9) for i in range(n)],
    )


def test_the_reason_counts_in_words() -> None:
    a = _analysis(5)
    hs = a.highlights
    key = [review_key(h.label, h.start_s) for h in hs]
    assert exports.which(a, hs, {}) is None
    assert exports.which(a, hs[:2], {key[0]: True, key[1]: True}) == (
        "Exporting your 2 kept moments of 5 — untick Keep to export the others."
    )
    assert exports.which(a, hs[2:], {key[0]: False, key[1]: False}) == (
        "Exporting 3 of 5 highlights: the 2 you unticked are left out."
    )
    # A keep among rejections: the keep decides what is exported.
    assert exports.which(a, hs[:1], {key[0]: True, key[1]: False}) == (
        "Exporting your 1 kept moment of 5 — untick Keep to export the others."
    )
    one = _analysis(1)
    assert exports.which(one, [], {key[0]: False}) == (
        "Exporting 0 of 1 highlight: the 1 you unticked is left out."
    )
