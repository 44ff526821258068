"""Paths from visitors: only inside the shared media folders, whatever `..` or a symlink says."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion.media.media_roots import OutsideMediaFoldersError, is_under, resolve_under


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    vods, clips, private = tmp_path / "vods", tmp_path / "clips", tmp_path / "private"
    for folder in (vods, clips, private):
        folder.mkdir()
    (vods / "day1.mp4").write_bytes(b"x")
    (clips / "short.wav").write_bytes(b"x")
    (private / "secret.mp4").write_bytes(b"x")
    (vods / "link-out.mp4").symlink_to(private / "secret.mp4")
    (vods / "dir-out").symlink_to(private)
    (vods / "link-in.mp4").symlink_to(clips / "short.wav")
    return {"vods": vods, "clips": clips, "private": private}


def test_paths_inside_the_folders_open_as_their_real_path(tree) -> None:
    roots = [tree["vods"], tree["clips"]]
    assert resolve_under(str(tree["vods"] / "day1.mp4"), roots) == tree["vods"] / "day1.mp4"
    assert resolve_under("short.wav", roots) == tree["clips"] / "short.wav"  # looked up in each
    assert resolve_under(' "day1.mp4" ', roots) == tree["vods"] / "day1.mp4"
    # A symlink between shared folders is fine, and what is returned is its target.
    assert resolve_under(tree["vods"] / "link-in.mp4", roots) == tree["clips"] / "short.wav"
    # Not there (yet): still inside, so opening it says "File not found" for that path.
    assert resolve_under("later.mp4", roots) == tree["vods"] / "later.mp4"


def test_anything_leading_out_of_the_folders_is_refused_with_a_sentence(tree) -> None:
    roots = [tree["vods"]]
    outside = {
        str(tree["private"] / "secret.mp4"): "is outside the media folders this server shares",
        "/etc/passwd": "is outside the media folders",
        "link-out.mp4": "is outside the media folders",  # a symlink pointing out
        "dir-out/secret.mp4": "is outside the media folders",  # through a linked folder
        "../private/secret.mp4": "Paths with .. are not opened here",
        str(tree["vods"] / ".." / "private" / "secret.mp4"): "Paths with .. are not opened",
    }
    for given, words in outside.items():
        with pytest.raises(OutsideMediaFoldersError) as e:
            resolve_under(given, roots)
        message = str(e.value)
        assert words in message and message.endswith(".") and "\n" not in message, message
    with pytest.raises(OutsideMediaFoldersError) as e:
        resolve_under(tree["vods"] / "day1.mp4", [])
    assert str(e.value) == (
        "This server opens no files by path; upload the file or paste a link instead."
    )
    assert is_under(tree["vods"] / "day1.mp4", roots)
    assert not is_under(tree["vods"] / "link-out.mp4", roots)
