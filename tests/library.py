"""A small library of synthetic VODs analysed with the fixture checkpoint (search and library tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source
from emotion.library.store import Store
from emotion.media.sources import open_source, source_identity
from emotion.model.clap import Clap
from tests.media import write_media
from tests.synth import make_vod

SR = 48_000
DURATION_S = 120.0
# Every trained sound but silence (the bed itself) appears; the siren and the whistle twice.
VODS = {
    "Monday Stream": [
        ("a whistle", 15.0, 30.0),
        ("a siren", 55.0, 70.0),
        ("a low hum", 90.0, 105.0),
    ],
    "Tuesday Stream": [
        ("clicking", 10.0, 25.0),
        ("hissing", 50.0, 65.0),
        ("rumbling", 85.0, 100.0),
    ],
    "Friday Stream": [
        ("a siren", 20.0, 35.0),
        ("clicking", 60.0, 75.0),
        ("a whistle", 95.0, 110.0),
    ],
}
SOUNDS = ["a whistle", "a siren", "a low hum", "clicking", "hissing", "rumbling"]


def build_library(clap: Clap, home: Path, media: Path) -> dict[str, int]:
    """Write and analyse the VODs into ``home``; title → analysis id."""
    store = Store(home)
    ids = {}
    for seed, (title, events) in enumerate(VODS.items()):
        audio = make_vod(events, DURATION_S, SR, np.random.default_rng(100 + seed))
        path = write_media(media / f"{title}.flac", audio, SR)
        source = open_source(path)
        record = embed_source(clap, store, source, source_identity(source))
        ids[title] = record.id
    return ids


def events_of(sound: str, ids: dict[str, int]) -> list[tuple[int, float, float]]:
    """(analysis id, start_s, end_s) of every event of ``sound`` in the library."""
    return [
        (ids[title], start_s, end_s)
        for title, events in VODS.items()
        for caption, start_s, end_s in events
        if caption == sound
    ]


def analysed_library(clap: Clap, factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """(home, title → analysis id) of the analysed VODs, for a module's fixture."""
    home = factory.mktemp("home")
    return home, build_library(clap, home, factory.mktemp("media"))
