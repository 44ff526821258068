"""The batch's inputs spelled out, and its run: failures recorded, the rest go on."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from emotion.batch import CSV_NAME, Done, run_batch
from emotion.batch_inputs import Item, expand
from emotion.errors import Cancelled, HypelineError, SourceError
from tests.httpserver import closed_port


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_folders_lists_and_files_become_one_item_per_vod_in_order(tmp_path: Path) -> None:
    a = _touch(tmp_path / "vods" / "2026-03-01 Finals.mp4")
    b = _touch(tmp_path / "vods" / "old" / "b.MKV")  # found recursively, any case
    _touch(tmp_path / "vods" / "notes.txt")  # not media: a folder yields media files only
    _touch(tmp_path / "vods" / "cover.jpg")
    c = _touch(tmp_path / "c.flac")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# Tuesday's\n{c}\n\n{a}\n  {tmp_path / 'gone.mp4'}  \n")
    items = expand([str(tmp_path / "vods"), str(listing), str(c)])
    # each VOD once, the first time it is named; a missing file is kept for analyze to say so
    assert items == [Item(str(a)), Item(str(b)), Item(str(c)), Item(str(tmp_path / "gone.mp4"))]


def test_an_unreachable_link_is_an_item_with_its_sentence(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/vod.mp4"
    (item,) = expand([url])
    assert item.spec == url and item.error is not None and "127.0.0.1" in item.error


def test_a_playlist_is_its_vods_within_the_limit_and_the_dates() -> None:
    entries = [
        {"url": "https://v/4", "upload_date": "20260304"},
        {"url": "https://v/3", "timestamp": 1772409600},  # 2026-03-02 UTC
        {"url": "https://v/2", "upload_date": "20260201"},
        {"url": "https://v/x"},  # no date: kept, and said
        {"url": "https://v/1", "upload_date": "20260101"},
    ]
    asked = []

    def probe(url: str, **options: object) -> dict:
        asked.append(options)
        return {"entries": entries} if "channel" in url else {"id": "one"}

    notes: list[str] = []
    items = expand(
        ["https://site/channel", "https://site/video"],
        since="20260202",
        probe=probe,
        on_note=notes.append,
    )
    assert [i.spec for i in items] == [
        "https://v/4",
        "https://v/3",
        "https://v/x",
        "https://site/video",
    ]
    assert notes == [
        "1 VOD(s) of https://site/channel carry no date in the playlist, so "
        "--since/--until could not judge them; they are in the batch"
    ]
    assert asked[0] == {"noplaylist": False, "extract_flat": "in_playlist", "playlistend": None}
    limited = expand(["https://site/channel"], limit=2, probe=probe)
    assert [i.spec for i in limited] == ["https://v/4", "https://v/3"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": []}, "Give the VODs to analyse: files, folders, a list file or a link."),
        (
            {"inputs": ["x.mp4"], "since": "2026-03-01"},
            "The since date '2026-03-01' is not YYYYMMDD; write e.g. 20260301.",
        ),
        ({"inputs": ["x.mp4"], "limit": 0}, "The limit counts VODs; give 1 or more."),
    ],
)
def test_bad_arguments_are_one_sentence(kwargs: dict, message: str) -> None:
    with pytest.raises(HypelineError) as e:
        expand(**kwargs)
    assert str(e.value) == message


def test_an_empty_folder_is_said(tmp_path: Path) -> None:
    with pytest.raises(HypelineError, match="^No VOD found in what was given"):
        expand([str(tmp_path)])


def test_one_failure_is_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    items = [
        Item("a.mp4"),
        Item("broken.mp4"),
        Item("http://x", "Could not reach x."),
        Item("b.mp4"),
    ]
    ran: list[str] = []

    def runner(spec: str) -> Done:
        ran.append(spec)
        if spec == "broken.mp4":
            raise SourceError("broken.mp4 holds no audio; give a file with sound.")
        return Done(spec.upper(), len(ran), 10 * len(ran), 2)

    seen = []
    outcomes = run_batch(items, runner, tmp_path, on_outcome=seen.append, progress=seen.append)
    assert ran == ["a.mp4", "broken.mp4", "b.mp4"]  # the unreachable one is not tried again
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[1].error == "broken.mp4 holds no audio; give a file with sound."
    with (tmp_path / CSV_NAME).open() as f:
        rows = list(csv.DictReader(f))
    assert [
        (r["vod"], r["title"], r["analysis_id"], r["windows"], r["highlights"], r["error"])
        for r in rows
    ] == [
        ("a.mp4", "A.MP4", "1", "10", "2", ""),
        ("broken.mp4", "", "", "0", "0", "broken.mp4 holds no audio; give a file with sound."),
        ("http://x", "", "", "0", "0", "Could not reach x."),
        ("b.mp4", "B.MP4", "3", "30", "2", ""),
    ]
    progress = [p for p in seen if hasattr(p, "stage")]
    assert [p.message for p in progress] == [
        "VOD 1 of 4",
        "VOD 2 of 4",
        "VOD 3 of 4, 1 failed",
        "VOD 4 of 4, 2 failed",
        "4 VOD(s)",
    ]


def test_a_stop_stops_the_batch_with_what_was_done_kept(tmp_path: Path) -> None:
    def runner(spec: str) -> Done:
        if spec == "b.mp4":
            raise Cancelled("Stopped; run it again to resume.")
        return Done(spec, 1, 1, 0)

    with pytest.raises(Cancelled):
        run_batch([Item("a.mp4"), Item("b.mp4"), Item("c.mp4")], runner, tmp_path)
    assert (tmp_path / CSV_NAME).read_text().splitlines()[1:] == ["a.mp4,a.mp4,1,1,0,0.0,"]
