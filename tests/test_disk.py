"""The disk budget: media copies over budget go least recently used first; analyses stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from emotion.media import disk

HOUR_S = 3600.0


def _put(path: Path, size: int, used_s: float) -> Path:
    """A file of ``size`` bytes whose item was last used at ``used_s`` (epoch seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    for p in (path, path.parent):
        os.utime(p, (used_s, used_s))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Three downloads, an upload, a preview and the analyses, used at different times."""
    home = tmp_path / "home"
    now = time.time()
    _put(home / "downloads" / "a-1111" / "a [a].mp4", 3000, now - 5 * HOUR_S)
    _put(home / "downloads" / "b-2222" / "b [b].mp4", 2000, now - 3 * HOUR_S)
    _put(home / "downloads" / "c-3333" / "c [c].mp4", 1000, now - 1 * HOUR_S)
    _put(home / "downloads" / "index" / "0a0b.json", 10, now - 9 * HOUR_S)  # never an item
    _put(home / "uploads" / "f00d" / "clip.mkv", 500, now - 4 * HOUR_S)
    _put(home / "previews" / "beef.m4a", 100, now - 2 * HOUR_S)
    _put(home / "embeddings" / "1.f32", 4000, now - 10 * HOUR_S)
    _put(home / "library.sqlite", 700, now - 10 * HOUR_S)
    return home


def test_usage_counts_media_per_area_and_the_analyses_apart(home: Path) -> None:
    usage = disk.usage(home)
    assert dict(usage.area_bytes) == {
        "downloads": 6000,
        "uploads": 500,
        "previews": 100,
        "exports": 0,
    }
    assert usage.media_bytes == 6600
    assert usage.kept_bytes == 4700
    assert [i.path.name for i in disk.items(home)] == [
        "a-1111",
        "f00d",
        "b-2222",
        "beef.m4a",
        "c-3333",
    ]


def test_over_budget_the_least_recently_used_go_first_and_embeddings_stay(home: Path) -> None:
    removed = disk.evict(2000, home)
    # 6600 bytes: a (3000) → 3600, the upload (500) → 3100, b (2000) → 1100 ≤ 2000.
    assert [(i.area, i.path.name) for i in removed] == [
        ("downloads", "a-1111"),
        ("uploads", "f00d"),
        ("downloads", "b-2222"),
    ]
    assert sorted(p.name for p in (home / "downloads").iterdir()) == ["c-3333", "index"]
    assert (home / "previews" / "beef.m4a").is_file()
    assert (home / "embeddings" / "1.f32").stat().st_size == 4000
    assert (home / "library.sqlite").stat().st_size == 700
    assert disk.usage(home).media_bytes == 1100
    assert disk.evict(2000, home) == []  # within budget: nothing more


def test_opening_a_download_makes_it_the_most_recently_used(home: Path) -> None:
    disk.mark_used(home / "downloads" / "a-1111" / "a [a].mp4", home)
    # Now used, a is also "in use": it stays even though the budget is tiny.
    removed = disk.evict(0, home)
    assert [i.path.name for i in removed] == ["f00d", "b-2222", "beef.m4a", "c-3333"]
    assert (home / "downloads" / "a-1111" / "a [a].mp4").is_file()


def test_kept_paths_and_recent_use_are_never_evicted(home: Path) -> None:
    recent = _put(home / "downloads" / ".incomplete" / "9999" / "d.mp4.part", 5000, time.time())
    removed = disk.evict(0, home, keep=[home / "downloads" / "b-2222" / "b [b].mp4"])
    assert "b-2222" not in [i.path.name for i in removed]
    assert recent.is_file()  # a download being written right now
    assert sorted(p.name for p in (home / "downloads").iterdir()) == [
        ".incomplete",
        "b-2222",
        "index",
    ]
