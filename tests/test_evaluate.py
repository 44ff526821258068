"""Zero-shot eval on labelled folders of the fixture's sounds, in both layouts."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from emotion.errors import DatasetError
from emotion.evaluate import evaluate, load_dataset, write_confusion_png
from tests.conftest import CLASSES
from tests.media import write_media
from tests.synth import make_clip
from tests.test_cli import run

SR = 48_000
PER_CLASS = 3
CLIP_S = 5.0


def _clips() -> list[tuple[str, int, np.ndarray]]:
    rng = np.random.default_rng(4242)  # not a training seed
    return [
        (caption, i, make_clip(caption, CLIP_S, SR, rng))
        for i in range(PER_CLASS)
        for caption in CLASSES
    ]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-folders")
    for caption, i, clip in _clips():
        sub = root / caption.replace(" ", "_")
        sub.mkdir(exist_ok=True)
        write_media(sub / f"{i}.wav", clip, SR)
    return root


@pytest.fixture(scope="module")
def esc50(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-esc50")
    (root / "audio").mkdir()
    (root / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for caption, i, clip in _clips():
        target = CLASSES.index(caption)
        name = f"{i + 1}-{target:03d}-A-{target}.wav"
        write_media(root / "audio" / name, clip, SR)
        rows.append(f"{name},{i + 1},{target},{caption.replace(' ', '_')},False,x,A")
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root


def test_class_folders(clap, folders: Path) -> None:
    dataset = load_dataset(folders)
    assert dataset.layout == "folders" and sorted(dataset.classes) == sorted(CLASSES)
    seen = []
    result = evaluate(clap, dataset, batch_size=4, progress=seen.append)
    n = PER_CLASS * len(CLASSES)
    assert result.n_files == n and result.confusion.sum() == n
    assert result.confusion.sum(axis=1).tolist() == [PER_CLASS] * len(CLASSES)
    assert result.top1 >= 0.95, result.to_dict()
    assert result.top5 >= result.top1 and result.top5 == 1.0
    assert min(result.recall.values()) >= 2 / 3
    assert result.folds == {}
    assert [p.fraction for p in seen][-1] == 1.0 and len(seen) == -(-n // 4)


def test_esc50_layout_per_fold_same_for_any_batch_and_plot(
    clap, esc50: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(esc50)
    assert dataset.layout == "esc50" and dataset.classes == CLASSES  # target order
    assert dataset.folds == [1, 2, 3]
    result = evaluate(clap, dataset, batch_size=8)
    assert result.top1 >= 0.95 and result.confusion.sum() == len(dataset.clips)
    assert set(result.folds) == {1, 2, 3}
    assert np.mean(list(result.folds.values())) == pytest.approx(result.top1)
    again = evaluate(clap, dataset, batch_size=3)
    assert again.to_dict() == result.to_dict()  # deterministic, whatever the batch

    path = write_confusion_png(result, tmp_path / "cm.png", cell_px=10)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == height == 10 * len(CLASSES)
    idat_len = int.from_bytes(data[33:37], "big")
    raw = zlib.decompress(data[41 : 41 + idat_len])
    assert len(raw) == height * (1 + 3 * width)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is empty"):
        load_dataset(tmp_path)


def test_unknown_layout(tmp_path: Path) -> None:
    write_media(tmp_path / "loose.wav", make_clip("a siren", 1.0, SR, np.random.default_rng(1)), SR)
    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_dataset(tmp_path)
    (tmp_path / "loose.wav").unlink()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError, match="no meta/esc50.csv"):
        load_dataset(tmp_path)


def test_csv_naming_missing_files(esc50: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "esc"
    shutil.copytree(esc50, copy)
    first = sorted((copy / "audio").iterdir())[0]
    first.unlink()
    with pytest.raises(DatasetError, match=rf"not in audio/ \({first.name}\)"):
        load_dataset(copy)


def test_cli_json_plot_and_errors(esc50: Path, tmp_path: Path) -> None:
    out = run("eval", str(esc50), "--json", "--plot", str(tmp_path / "cm.png"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["top1"] >= 0.95 and sum(map(sum, result["confusion"])) == 21
    assert set(result["folds"]) == {"1", "2", "3"}
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"

    empty = tmp_path / "empty"
    empty.mkdir()
    out = run("eval", str(empty))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        == f"hypeline: {empty} is empty; put labelled clips in it, one sub-folder per class."
    )
    out = run("eval", str(esc50), "--template", "no slot")
    assert out.returncode == 2 and "exactly once" in out.stderr
