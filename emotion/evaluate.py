"""Zero-shot accuracy of the model on a labelled folder of clips (top-1, top-5, confusion).

Two layouts are read:

* one sub-folder per class (``dogs/*.wav``, ``rain/*.wav``); the class is the folder's
  name with underscores read as spaces;
* ESC-50's: ``audio/`` plus ``meta/esc50.csv`` with ``filename, fold, target, category``;
  classes in ``target`` order, ``chirping_birds`` read as "chirping birds", and the
  accuracy also given per fold.

Each class name goes through the template (as the CLAP paper's ESC-50 figure does) and
every clip is scored against all of them. Clips are embedded in batches; a clip's
embedding does not depend on its batch, so the figures are the same for any batch size.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from emotion.errors import DatasetError
from emotion.media.audio import load_audio
from emotion.model.clap import Clap
from emotion.progress import Progress, ProgressFn
from emotion.scoring.prompts import (
    DEFAULT_TEMPLATE,
    check_template,
    prompts_for,
    zero_shot_probabilities,
)

AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".webm", ".mp4", ".mkv"}
)
ESC50_CSV = Path("meta") / "esc50.csv"
ESC50_COLUMNS = ("filename", "fold", "target", "category")
TOP_K = 5


@dataclass(frozen=True, slots=True)
class Clip:
    """One labelled file: ``label`` indexes the dataset's classes."""

    path: Path
    label: int
    fold: int | None = None


@dataclass(frozen=True)
class Dataset:
    root: Path
    layout: str  # "folders" | "esc50"
    classes: list[str]  # the text each class is scored as (before the template)
    clips: list[Clip]

    @property
    def folds(self) -> list[int]:
        return sorted({c.fold for c in self.clips if c.fold is not None})


@dataclass
class EvalResult:
    """How often the model's first (and first five) guesses name the true class."""

    model: str
    template: str
    layout: str
    classes: list[str]
    n_files: int
    top1: float
    top5: float  # top-k with k = min(5, number of classes)
    recall: dict[str, float]  # per class: share of its clips whose first guess is right
    confusion: np.ndarray  # [true, predicted] counts; sums to n_files
    folds: dict[int, float] = field(default_factory=dict)  # top-1 per fold (ESC-50)
    top_k: int = TOP_K

    def to_dict(self, decimals: int = 4) -> dict[str, object]:
        return {
            "model": self.model,
            "template": self.template,
            "layout": self.layout,
            "n_files": self.n_files,
            "top1": round(self.top1, decimals),
            f"top{self.top_k}": round(self.top5, decimals),
            "per_class_recall": {k: round(v, decimals) for k, v in self.recall.items()},
            "folds": {str(k): round(v, decimals) for k, v in self.folds.items()},
            "classes": self.classes,
            "confusion": self.confusion.tolist(),
        }


def load_dataset(folder: Path) -> Dataset:
    """The labelled clips of ``folder`` in either layout; a ``DatasetError`` otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; give the folder that holds the clips.")
    if (folder / ESC50_CSV).is_file():
        return _esc50(folder)
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    clips: list[Clip] = []
    classes: list[str] = []
    for sub in subfolders:
        files = _audio_files(sub)
        if files:
            clips += [Clip(path, len(classes)) for path in files]
            classes.append(_class_text(sub.name))
    if clips:
        if len(classes) < 2:
            raise DatasetError(
                f"{folder} has clips of one class only ({classes[0]!r}); a zero-shot test "
                "needs at least two class sub-folders."
            )
        return Dataset(folder, "folders", classes, clips)
    if _audio_files(folder):
        raise DatasetError(
            f"{folder} holds audio files but no class sub-folders; put each class's clips in "
            "a sub-folder named after the class, or use ESC-50's audio/ and meta/esc50.csv."
        )
    if not any(folder.iterdir()):
        raise DatasetError(
            f"{folder} is empty; put labelled clips in it, one sub-folder per class."
        )
    raise DatasetError(
        f"{folder} has no audio files in class sub-folders and no meta/esc50.csv; lay it out "
        "one sub-folder per class, or as ESC-50 (audio/ plus meta/esc50.csv)."
    )


def evaluate(
    clap: Clap,
    dataset: Dataset,
    template: str = DEFAULT_TEMPLATE,
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
) -> EvalResult:
    """Score every clip of ``dataset`` against all its classes and count the hits."""
    check_template(template)
    prompts = prompts_for(dataset.classes, template)
    clap.check_prompts(prompts, dataset.classes)
    text = clap.embed_text(prompts)
    batch_size = batch_size or (64 if clap.device.type == "cuda" else 8)
    n_classes = len(dataset.classes)
    k = min(TOP_K, n_classes)
    truth = np.array([c.label for c in dataset.clips])
    first = np.empty(len(dataset.clips), dtype=int)
    in_top_k = np.empty(len(dataset.clips), dtype=bool)
    done = 0
    for batch in _batches(dataset.clips, batch_size):
        waveforms = [load_audio(c.path, clap.sampling_rate) for c in batch]
        probs = zero_shot_probabilities(clap.embed_audio(waveforms), text, clap.logit_scale)
        # A stable sort ranks ties by class order, so the result never depends on the batch.
        ranked = np.argsort(-probs, axis=1, kind="stable")
        labels = truth[done : done + len(batch)]
        first[done : done + len(batch)] = ranked[:, 0]
        in_top_k[done : done + len(batch)] = (ranked[:, :k] == labels[:, None]).any(axis=1)
        done += len(batch)
        if progress is not None:
            n = len(dataset.clips)
            progress(Progress("eval", done / n, f"{done}/{n} clips"))
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (truth, first), 1)
    hits = first == truth
    per_class = confusion.sum(axis=1)
    recall = {
        name: float(confusion[i, i] / per_class[i]) if per_class[i] else 0.0
        for i, name in enumerate(dataset.classes)
    }
    folds_of = np.array([c.fold if c.fold is not None else -1 for c in dataset.clips])
    folds = {f: float(hits[folds_of == f].mean()) for f in dataset.folds}
    return EvalResult(
        model=clap.name,
        template=template,
        layout=dataset.layout,
        classes=list(dataset.classes),
        n_files=len(dataset.clips),
        top1=float(hits.mean()),
        top5=float(in_top_k.mean()),
        recall=recall,
        confusion=confusion,
        folds=folds,
        top_k=k,
    )


def report(result: EvalResult) -> str:
    """The figures as a short text table."""
    lines = [
        f"{result.model} on {result.n_files} clips ({result.layout}), template {result.template!r}",
        f"top-1 accuracy {result.top1:.4f}, top-{result.top_k} {result.top5:.4f}",
    ]
    if result.folds:
        per_fold = ", ".join(f"{f}: {a:.4f}" for f, a in result.folds.items())
        lines.append(f"top-1 per fold: {per_fold}")
    width = max(len(c) for c in result.classes)
    lines.append("recall per class:")
    for name, value in sorted(result.recall.items(), key=lambda kv: (kv[1], kv[0])):
        lines.append(f"  {name:<{width}}  {value:.3f}")
    return "\n".join(lines)


def write_confusion_png(result: EvalResult, path: Path, cell_px: int = 24) -> Path:
    """The confusion matrix as a PNG heatmap (rows: true class, columns: guess).

    Row-normalised, white (0) to dark blue (1). Written with zlib alone, so the plot needs
    no plotting stack; the class of each row and column is in the report's order.
    """
    counts = result.confusion.astype(np.float64)
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    white, blue = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    rgb = (white + rows[..., None] * (blue - white)).round().astype(np.uint8)
    image = np.repeat(np.repeat(rgb, cell_px, axis=0), cell_px, axis=1)
    image[::cell_px, :] = image[:, ::cell_px] = 200  # grid lines
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(_png(image))
    tmp.replace(path)  # never a half-written plot
    return path


def _png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb[h, w, 3]``."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _esc50(folder: Path) -> Dataset:
    csv_path = folder / ESC50_CSV
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing_columns = [c for c in ESC50_COLUMNS if c not in (reader.fieldnames or [])]
        if missing_columns:
            raise DatasetError(
                f"{csv_path} lacks the column(s) {', '.join(missing_columns)}; ESC-50's "
                f"meta file has {', '.join(ESC50_COLUMNS)}."
            )
        rows = list(reader)
    if not rows:
        raise DatasetError(f"{csv_path} lists no clips; add one row per file.")
    names: dict[int, str] = {}
    clips: list[Clip] = []
    missing: list[str] = []
    try:
        for row in rows:
            target, fold = int(row["target"]), int(row["fold"])
            names.setdefault(target, _class_text(row["category"]))
            path = folder / "audio" / row["filename"]
            if not path.is_file():
                missing.append(row["filename"])
            clips.append(Clip(path, target, fold))
    except ValueError:
        raise DatasetError(
            f"{csv_path} has a fold or target that is not a whole number; fix that row."
        ) from None
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DatasetError(
            f"{csv_path} names files that are not in audio/ ({missing[0]}{more}); copy them "
            "there or remove their rows."
        )
    # Targets are renumbered 0…n-1 in their own order (a subset of ESC-50 keeps its names).
    order = sorted(names)
    index = {t: i for i, t in enumerate(order)}
    if len(order) < 2:
        raise DatasetError(f"{csv_path} lists one class only; a zero-shot test needs two.")
    clips = [Clip(c.path, index[c.label], c.fold) for c in clips]
    return Dataset(folder, "esc50", [names[t] for t in order], clips)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def _class_text(name: str) -> str:
    return " ".join(name.replace("_", " ").split())


def _batches(clips: Sequence[Clip], size: int) -> Iterator[list[Clip]]:
    it = iter(clips)
    while batch := list(islice(it, size)):
        yield batch
