"""The sidebar's prompt rows in session state: what a row holds, and filling them.

``prompt_ids`` lists the rows in order; each row's widgets are keyed ``prompt_text_<id>``,
``prompt_color_<id>``, ``prompt_bg_<id>``. The sidebar draws them; a prompt pack, a preset
or a test fills them with ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prompt:
    text: str
    color: str
    background: bool = False


def seed(state: Any, prompts: Sequence[Prompt]) -> None:
    """Replace the prompt rows of ``state`` (session state) with ``prompts``, under new ids."""
    state["prompt_ids"] = []
    append(state, prompts)


def append(state: Any, prompts: Sequence[Prompt]) -> None:
    first = int(state.get("prompt_next", 0))
    ids = list(range(first, first + len(prompts)))
    for pid, p in zip(ids, prompts, strict=True):
        state[f"prompt_text_{pid}"] = p.text
        state[f"prompt_color_{pid}"] = p.color
        state[f"prompt_bg_{pid}"] = p.background
    state["prompt_ids"] = [*state.get("prompt_ids", []), *ids]
    state["prompt_next"] = first + len(prompts)
