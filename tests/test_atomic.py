"""emotion/atomic.py: a file or folder appears whole under its final name, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion import atomic


def test_a_write_replaces_the_old_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    final = tmp_path / "deep" / "index.json"
    atomic.write_text(final, "old")
    atomic.write_text(final, "new")
    assert final.read_text() == "new"
    assert [p.name for p in final.parent.iterdir()] == ["index.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    final = tmp_path / "clips.zip"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic.replacing(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["clips.zip"]


def test_a_folder_replaces_a_folder_whole(tmp_path: Path) -> None:
    final = tmp_path / "clips"
    final.mkdir()
    (final / "stale.mp4").write_text("old clip")
    tmp = atomic.temp_beside(final)
    tmp.mkdir()
    (tmp / "fresh.mp4").write_text("new clip")
    atomic.commit(tmp, final)
    assert [p.name for p in final.iterdir()] == ["fresh.mp4"]
    assert [p.name for p in tmp_path.iterdir()] == ["clips"]


def test_a_temporary_is_hidden_beside_its_final_name_with_the_extension_kept() -> None:
    tmp = atomic.temp_beside(Path("/x/previews/abc.m4a"), ".m4a")
    assert tmp.parent == Path("/x/previews") and tmp.name.startswith(".abc.m4a.")
    assert tmp.suffix == ".m4a"
