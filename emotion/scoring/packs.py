"""Prompt packs: prompts, colors, template, thresholds and learned picks in one JSON file.

A pack moves a streamer's setup between machines (and streamers): what to look for, how
it is colored and thresholded, which chat keywords are counted, and the kept and rejected
moments learned from, each with its vector and where it came from (source title, time). The vectors are only meaningful
for the model that made them, which the pack names. The format is versioned: a reader
refuses a pack from a newer version rather than guess at it. Version 2 adds
``chat_keywords``; a pack without them is still written as version 1, so older readers open it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emotion.errors import HypelineError, PackError
from emotion.scoring.adapt import Example
from emotion.scoring.highlights import HighlightSettings
from emotion.scoring.keywords import check_keywords
from emotion.scoring.prompts import DEFAULT_TEMPLATE, check_prompts, check_template

PACK_FORMAT = "hypeline-pack"
PACK_VERSION = 2  # 2: chat_keywords
_SETTINGS = (
    "threshold",
    "hysteresis",
    "min_duration_s",
    "merge_gap_s",
    "top_k",
    "smoothing_s",
    "scale",
)


@dataclass
class Pack:
    labels: list[str]
    background: list[str] = field(default_factory=list)
    colors: dict[str, str] = field(default_factory=dict)
    template: str = DEFAULT_TEMPLATE
    settings: HighlightSettings = field(default_factory=HighlightSettings)
    model: str | None = None  # the model the examples' vectors come from
    examples: list[Example] = field(default_factory=list)
    name: str = ""
    chat_keywords: list[str] | None = None  # None: the pack leaves the default list

    def to_dict(self) -> dict[str, object]:
        keywords = {} if self.chat_keywords is None else {"chat_keywords": self.chat_keywords}
        return {
            "format": PACK_FORMAT,
            "version": PACK_VERSION if keywords else 1,
            "name": self.name,
            "labels": self.labels,
            "background": self.background,
            "colors": self.colors,
            "template": self.template,
            # per_prompt as {prompt: threshold}, the way people write it
            "thresholds": asdict(self.settings) | {"per_prompt": dict(self.settings.per_prompt)},
            "model": self.model,
            "examples": [
                {
                    "label": e.label,
                    "kept": e.kept,
                    "source": e.title,
                    "start_s": round(e.start_s, 3),
                    "end_s": round(e.end_s, 3),
                    "vector": [float(x) for x in np.asarray(e.vector, dtype=np.float32)],
                }
                for e in self.examples
            ],
        } | keywords


def save_pack(pack: Pack, path: Path) -> Path:
    """Write ``pack`` to ``path`` atomically (never half a file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(pack.to_dict(), ensure_ascii=False, indent=1), "utf-8")
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PackError(
            f"Cannot write the pack to {path} ({e.strerror}); pick another place."
        ) from None
    return path


def load_pack(path: Path) -> Pack:
    """Read a pack file; a ``PackError`` saying what is wrong otherwise."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PackError(f"No pack file at {path}; check the path.") from None
    except (OSError, UnicodeDecodeError):
        raise PackError(
            f"{path} cannot be read as a text file; give a pack's .json file."
        ) from None
    return parse_pack(text, str(path))


def parse_pack(text: str | bytes, name: str = "the pack") -> Pack:
    """A pack from its JSON text (an uploaded file's bytes, say)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PackError(f"{name} is not valid JSON; export the pack again.") from None
    if not isinstance(data, dict) or data.get("format") != PACK_FORMAT:
        raise PackError(f"{name} is not a Hypeline prompt pack; give a file saved as one.")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise PackError(f"{name} has no valid version number; export the pack again.")
    if version > PACK_VERSION:
        raise PackError(
            f"{name} is a version {version} pack and this Hypeline reads up to version "
            f"{PACK_VERSION}; update Hypeline to open it."
        )
    try:
        labels, background = check_prompts(data["labels"], data.get("background") or [])
        template = check_template(data.get("template") or DEFAULT_TEMPLATE)
        thresholds = data.get("thresholds") or {}
        per_prompt = tuple(
            (str(k), float(v)) for k, v in (thresholds.get("per_prompt") or {}).items()
        )
        settings = HighlightSettings(
            **{k: thresholds[k] for k in _SETTINGS if k in thresholds}, per_prompt=per_prompt
        )
        settings.check([*labels])
        colors = {str(k): str(v) for k, v in (data.get("colors") or {}).items()}
        examples = [_example(e) for e in data.get("examples") or []]
        keywords = data.get("chat_keywords")
        if keywords is not None:
            if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
                raise TypeError("chat_keywords")
            keywords = list(check_keywords(keywords))
    except HypelineError as e:
        raise PackError(f"{name} holds settings that cannot be used: {e}") from None
    except (KeyError, TypeError, ValueError):
        raise PackError(
            f"{name} is damaged (a field is missing or of the wrong kind); export the pack again."
        ) from None
    dims = {e.vector.shape[0] for e in examples}
    if len(dims) > 1:
        raise PackError(f"{name} mixes vectors of different sizes; export the pack again.")
    return Pack(
        labels=labels,
        background=background,
        colors=colors,
        template=template,
        settings=settings,
        model=data.get("model"),
        examples=examples,
        name=str(data.get("name") or ""),
        chat_keywords=keywords,
    )


def _example(e: dict[str, object]) -> Example:
    vector = np.asarray(e["vector"], dtype=np.float32)
    if vector.ndim != 1 or vector.size == 0 or not np.all(np.isfinite(vector)):
        raise ValueError("bad vector")
    return Example(
        label=str(e["label"]),
        kept=bool(e["kept"]),
        vector=vector / (np.linalg.norm(vector) + 1e-12),
        title=str(e.get("source", "")),
        start_s=float(e.get("start_s", 0.0)),  # type: ignore[arg-type]
        end_s=float(e.get("end_s", 0.0)),  # type: ignore[arg-type]
    )
