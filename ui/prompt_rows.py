"""The sidebar's prompt rows in session state: what a row holds, and filling them.

``prompt_ids`` lists the rows in order; each row's widgets are keyed ``prompt_text_<id>``,
``prompt_color_<id>``, ``prompt_bg_<id>``, and a row's own threshold on each scale
``prompt_threshold_<scale>_<id>`` (``threshold_key``). The sidebar draws them; a prompt
pack, a preset or a test fills them with ``seed``; the sidebar's add boxes add to them
only the prompts not there yet (``unlisted``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emotion.scoring.highlights import ABSOLUTE, RELATIVE

# The threshold sliders of each scale: (min, max, step, help); the default is the scale's.
THRESHOLD_RANGES = {
    ABSOLUTE: (
        0.05,
        0.95,
        0.05,
        "How sure the model must be (probability) for a moment to start a highlight.",
    ),
    RELATIVE: (
        1.0,
        10.0,
        0.5,
        "How far above this stream's usual level for the prompt, in spreads, a moment "
        "must rise to start a highlight.",
    ),
}


def threshold_key(scale: str, pid: int | None = None) -> str:
    """The session key of a scale's threshold (``threshold`` for the absolute one), or of
    one prompt row's own on that scale."""
    if pid is not None:
        return f"prompt_threshold_{scale}_{pid}"
    return "threshold" if scale == ABSOLUTE else f"threshold_{scale}"


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


def fold(text: str) -> str:
    """A prompt as the label checks compare it: spacing tidied, case folded."""
    return " ".join(text.split()).casefold()


def unlisted(state: Any, texts: Sequence[str], background: bool) -> tuple[list[str], list[str]]:
    """Of ``texts`` (typed into an add box), those not among the rows of that list yet (the
    moments, or with ``background`` the background sounds), each once, and those already
    there. Adding is so a no-op for a prompt already listed: the same submission may reach
    the sidebar twice (see ``ui.sidebar._add``), and a duplicate row would only be refused
    as given twice."""
    listed = {
        fold(str(state.get(f"prompt_text_{pid}", "")))
        for pid in state.get("prompt_ids", [])
        if bool(state.get(f"prompt_bg_{pid}")) == background
    }
    new: list[str] = []
    already: list[str] = []
    seen = set(listed)
    for text in texts:
        if not (key := fold(text)):
            continue
        if key not in seen:
            new.append(text)
        elif key in listed and text not in already:
            already.append(text)
        seen.add(key)
    return new, already
