"""Prompt packs in the sidebar: load a pack's prompts, colors, template, thresholds and
chat keywords.

The pack's learned picks wait in ``st.session_state.pack_examples`` (with
``pack_model``) for the Analytics page's "Learn from my picks".
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from emotion.errors import PackError
from emotion.scoring import presets
from emotion.scoring.keywords import DEFAULT_KEYWORDS
from emotion.scoring.packs import Pack, parse_pack
from ui.prompt_rows import THRESHOLD_RANGES, Prompt, seed, threshold_key


def loader() -> None:
    """An uploader that replaces the prompts and settings with a pack's."""
    st.file_uploader(
        "Load a prompt pack",
        type=["json"],
        key="pack_file",
        on_change=_load,
        help="A pack saved from the Analytics page: prompts, colors, template, thresholds "
        "and learned picks.",
    )
    if problem := st.session_state.get("pack_error"):
        st.error(problem)


def apply(state: Any, pack: Pack) -> None:
    """Put ``pack`` into the sidebar's session ``state`` (the widgets read it on the next run)."""

    prompts = [
        Prompt(t, pack.colors.get(t) or presets.color(i)) for i, t in enumerate(pack.labels)
    ] + [
        Prompt(t, pack.colors.get(t) or presets.color(i, background=True), True)
        for i, t in enumerate(pack.background)
    ]
    seed(state, prompts)
    s = pack.settings
    state["template"] = pack.template
    low, high, step, _ = THRESHOLD_RANGES[s.scale]
    state["scale"] = s.scale
    state[threshold_key(s.scale)] = _on_grid(s.threshold, low, high, step)
    own = dict(s.per_prompt)
    for pid in state["prompt_ids"]:  # the rows seed just made, in the pack's order
        text = state[f"prompt_text_{pid}"]
        if text in own and not state[f"prompt_bg_{pid}"]:
            state[threshold_key(s.scale, pid)] = _on_grid(own[text], low, high, step)
    for key, value in (
        ("min_duration_s", s.min_duration_s),
        ("merge_gap_s", s.merge_gap_s),
        ("smoothing_s", s.smoothing_s),
    ):
        state[key] = int(min(60, max(0, 5 * round(value / 5))))  # the sliders' grid
    state["chat_keywords"] = ", ".join(pack.chat_keywords or DEFAULT_KEYWORDS)
    state["pack_examples"] = pack.examples
    state["pack_model"] = pack.model
    state["pack_error"] = None


def _on_grid(value: float, low: float, high: float, step: float) -> float:
    return round(min(high, max(low, round(value / step) * step)), 4)


def _load() -> None:
    upload = st.session_state.get("pack_file")
    if upload is None:
        return
    try:
        apply(st.session_state, parse_pack(upload.getvalue(), upload.name))
    except PackError as e:
        st.session_state.pack_error = str(e)
