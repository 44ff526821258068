"""emotion/atomic.py: a file or folder appears whole under its final name, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion import atomic
from emotion.errors import BusyError


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


def test_a_temporary_is_known_by_its_name_and_names_its_final_file(tmp_path: Path) -> None:
    final = tmp_path / "01-win-0-01-05.mp4"
    assert atomic.final_of(atomic.temp_beside(final, ".mp4")) == final.name
    chapters = tmp_path / "reel-chapters.txt"
    assert atomic.final_of(atomic.temp_beside(chapters)) == chapters.name
    for name in ("01-win-0-01-05.mp4", ".hidden.mp4", ".x.mp4.zzzzzzzz.tmp.mp4", ".x.tmp"):
        assert atomic.final_of(tmp_path / name) is None, name


def test_a_sole_writer_sweeps_what_dead_writers_left_and_keeps_the_rest(tmp_path: Path) -> None:
    whole = tmp_path / "reel.mp4"
    whole.write_text("a whole reel")
    dead = atomic.temp_beside(whole, ".mp4")
    dead.write_text("half a reel")
    dead_dir = atomic.temp_beside(tmp_path / "clips")
    dead_dir.mkdir()
    (dead_dir / "part.mp4").write_text("half a folder")
    other = atomic.temp_beside(tmp_path / "highlights.json")
    other.write_text("{")
    with atomic.sole_writer(tmp_path, ("reel.mp4", "clips")) as swept:
        assert sorted(swept) == sorted([dead, dead_dir])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.name, "reel.mp4"])
    with atomic.sole_writer(tmp_path) as swept:  # every name: the folder is the writer's
        assert swept == [other]
    assert [p.name for p in tmp_path.iterdir()] == ["reel.mp4"]


def test_a_second_writer_of_a_folder_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    with atomic.sole_writer(tmp_path, what="shorts"):
        live = atomic.temp_beside(tmp_path / "01.mp4", ".mp4")
        live.write_text("being written")
        with (
            pytest.raises(BusyError, match="Another render is writing shorts into"),
            atomic.sole_writer(tmp_path, what="shorts"),
        ):
            pass  # pragma: no cover
        assert live.exists()  # a live writer's temporary is never swept
        with atomic.sole_writer(tmp_path, ("reel.mp4",)) as swept:  # other names: its own lease
            assert swept == []
    with atomic.sole_writer(tmp_path) as swept:  # free again once the first is done
        assert swept == [live]
    assert list(tmp_path.iterdir()) == []
