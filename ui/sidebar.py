"""The shared sidebar: model, prompts (with presets and colors), highlight settings and the
chat keywords (``chat_keywords``: the comma-separated list a chat replay is counted with).

Prompt rows live in ``st.session_state``: ``prompt_ids`` lists the rows in order and
each row's widgets are keyed ``prompt_text_<id>``, ``prompt_color_<id>``, ``prompt_bg_<id>``.
``seed`` fills them (for a preset, or from a test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import streamlit as st

from emotion import pipeline
from emotion.errors import HypelineError
from emotion.model.names import KNOWN_MODELS, resolve_model_name
from emotion.scoring import presets
from emotion.scoring.highlights import ABSOLUTE, RELATIVE, SCALES, HighlightSettings
from emotion.scoring.keywords import DEFAULT_KEYWORDS, MAX_KEYWORDS, parse_keywords
from emotion.scoring.prompts import DEFAULT_TEMPLATE, Prompts
from ui import model, packs
from ui.prompt_rows import THRESHOLD_RANGES, Prompt, append, seed, threshold_key, unlisted

LOCAL_FOLDER = "Local folder…"
BLANK = "Blank (write your own)"
CUSTOM = "Custom"  # shown while the prompts are no preset's
# Drawn by the frame on every page, yet a page's st.switch_page (the Library's Open) drops
# every widget's state unless kept for the session (streamlit/runtime/scriptrunner/
# script_runner.py: "Clear widget state on page change", with no widget states to keep).
PERSIST: Final = "session"
BACKGROUND_HELP = (
    "Background: scored so that ordinary audio has somewhere to go, never highlighted."
)


@dataclass(frozen=True)
class Settings:
    """What the sidebar holds; ``problem`` is why the prompts cannot be scored, if they can't."""

    model: str
    prompts: tuple[Prompt, ...]
    template: str
    highlights: HighlightSettings
    problem: str | None = None
    chat_keywords: tuple[str, ...] = DEFAULT_KEYWORDS

    @property
    def labels(self) -> list[str]:
        return [p.text for p in self.prompts if not p.background]

    @property
    def background(self) -> list[str]:
        return [p.text for p in self.prompts if p.background]

    @property
    def colors(self) -> dict[str, str]:
        return {p.text: p.color for p in self.prompts}

    @property
    def pipeline(self) -> pipeline.Settings:
        """The library's settings for these prompts and highlights (only when no ``problem``)."""
        prompts = Prompts.parse(self.labels, self.background, self.template)
        return pipeline.Settings(prompts, self.highlights, chat_keywords=self.chat_keywords)


def render(locked: bool = False) -> Settings:
    """Draw the sidebar; the settings are also left in ``st.session_state.settings``.

    ``locked`` (shared mode): the model folder is the server's, not a visitor's to type,
    since a typed folder would let them probe and load files anywhere on the server.
    """
    with st.sidebar:
        name = _model_picker(locked)
        prompts = _prompt_editor()
        template, highlights = _highlight_settings()
        keywords, keyword_problem = _chat_keywords()
    problem = _problem(prompts, template) or _too_long(name, prompts, template) or keyword_problem
    settings = Settings(name, prompts, template, highlights, problem, keywords)
    st.session_state.settings = settings
    return settings


def preset_prompts(name: str) -> list[Prompt]:
    if name == BLANK:
        return []
    p = presets.preset(name)
    return [Prompt(t, presets.color(i)) for i, t in enumerate(p.labels)] + [
        Prompt(t, presets.color(i, background=True), True) for i, t in enumerate(p.background)
    ]


def _model_picker(locked: bool = False) -> str:
    st.subheader("Model")
    wanted = resolve_model_name()  # $HYPELINE_MODEL preselects
    options = [*KNOWN_MODELS, LOCAL_FOLDER]
    initial = options.index(wanted) if wanted in KNOWN_MODELS else len(KNOWN_MODELS)
    name = st.selectbox(
        "CLAP checkpoint", options, index=initial, key="model_choice", persist_state=PERSIST
    )
    if name == LOCAL_FOLDER:
        folder = "" if wanted in KNOWN_MODELS else wanted
        typed = st.text_input(
            "Folder",
            folder,
            key="model_folder",
            persist_state=PERSIST,
            placeholder="/path/to/checkpoint",
            disabled=locked,
            help="Set by the server (HYPELINE_MODEL)." if locked else None,
        ).strip()
        name = folder if locked else typed  # a crafted client can send a disabled value
    status = st.empty()
    if not name:
        status.warning("Give the folder of a CLAP checkpoint, or pick a model above.")
        return name
    if not model.known(name):  # the first view does not wait: drawn again once loaded
        status.badge("loading…", icon=":material/hourglass_top:", color="gray")
        model.rerun_when_loaded(name)
        return name
    clap = model.get(name)
    if clap is not None:
        status.badge(
            f"ready · {clap.device.type} · {clap.precision}",
            icon=":material/check_circle:",
            color="green",
        )
    else:
        with status.container(horizontal=True, vertical_alignment="center"):
            st.badge("missing", icon=":material/error:", color="red", help=model.error(name))
            st.button("Retry", on_click=model.retry, args=(name,), type="tertiary")
    return name


def _prompt_editor() -> tuple[Prompt, ...]:
    st.subheader("Moments to find")
    if "prompt_ids" not in st.session_state:
        seed(st.session_state, preset_prompts(presets.DEFAULT_PRESET.name))
    names = [*(p.name for p in presets.PRESETS), BLANK]
    current = _preset_of(st.session_state, names)
    st.session_state.preset = current or CUSTOM  # the box names what the rows hold
    st.selectbox(
        "Start from a preset",
        names if current else [*names, CUSTOM],
        key="preset",
        persist_state=PERSIST,
        on_change=_apply_preset,
    )
    packs.loader()
    prompts = []
    for pid in st.session_state.prompt_ids:
        with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=False):
            color = st.color_picker(
                "Color",
                key=f"prompt_color_{pid}",
                persist_state=PERSIST,
                label_visibility="collapsed",
            )
            label = st.text_input(
                f"Prompt {pid}",
                key=f"prompt_text_{pid}",
                persist_state=PERSIST,
                label_visibility="collapsed",
            )
            background = st.checkbox(
                "bg", key=f"prompt_bg_{pid}", persist_state=PERSIST, help=BACKGROUND_HELP
            )
            st.button(
                ":material/close:",
                key=f"prompt_del_{pid}",
                on_click=_remove,
                args=(pid,),
                type="tertiary",
                help="Remove this prompt",
            )
        prompts.append(Prompt(label.strip(), color, background))
    st.text_input(
        "Add moments",
        key="add_moments",
        on_change=_add,
        args=(False,),
        placeholder="e.g. rage quit, donation alert",
        help="Comma-separated; press Enter.",
    )
    st.text_input(
        "Add background sounds",
        key="add_background",
        on_change=_add,
        args=(True,),
        placeholder="e.g. game music",
        help=BACKGROUND_HELP,
    )
    return tuple(prompts)


def _preset_of(state: Any, names: Sequence[str]) -> str | None:
    """The preset whose prompts (texts and bg marks, in order) the rows hold; None: custom."""
    rows = [
        (str(state.get(f"prompt_text_{pid}", "")).strip(), bool(state.get(f"prompt_bg_{pid}")))
        for pid in state.get("prompt_ids", [])
    ]
    for name in names:
        if [(p.text, p.background) for p in preset_prompts(name)] == rows:
            return name
    return None


def _apply_preset() -> None:
    if st.session_state.preset != CUSTOM:  # Custom is what the rows already hold
        seed(st.session_state, preset_prompts(st.session_state.preset))


SCALE_NAMES = {ABSOLUTE: "Absolute", RELATIVE: "This stream's own"}


def _highlight_settings() -> tuple[str, HighlightSettings]:
    st.subheader("Highlights")
    defaults = HighlightSettings()
    scale = (
        st.segmented_control(
            "Scale",
            SCALES,
            default=defaults.scale,
            format_func=SCALE_NAMES.__getitem__,
            key="scale",
            persist_state=PERSIST,
            help="Absolute: the probability. This stream's own: how far a "
            "prompt rises above its usual level on this VOD (for streams whose sound always "
            "half-matches a prompt, e.g. game music that sounds like cheering).",
        )
        or defaults.scale
    )
    low, high, step, why = THRESHOLD_RANGES[scale]
    own = HighlightSettings.on_scale(scale).threshold
    threshold = st.slider(
        "Threshold",
        low,
        high,
        own,
        step,
        key=threshold_key(scale),
        persist_state=PERSIST,
        help=why,
    )
    per_prompt = []
    with st.expander("Per-prompt thresholds"):
        for pid in st.session_state.prompt_ids:
            text = str(st.session_state.get(f"prompt_text_{pid}", "")).strip()
            if not text or st.session_state.get(f"prompt_bg_{pid}"):
                continue
            value = st.number_input(
                text,
                low,
                high,
                None,
                step,
                key=threshold_key(scale, pid),
                persist_state=PERSIST,
                placeholder=f"{threshold:g}",
                help="Empty: the threshold above.",
            )
            if value is not None:
                per_prompt.append((" ".join(text.split()), float(value)))
    min_duration_s = st.slider(
        "Minimum highlight length (s)", 0, 60, 0, 5, key="min_duration_s", persist_state=PERSIST
    )
    merge_gap_s = st.slider(
        "Merge gap (s)",
        0,
        60,
        int(defaults.merge_gap_s),
        5,
        key="merge_gap_s",
        persist_state=PERSIST,
        help="Highlights of one moment closer than this become one.",
    )
    smoothing_s = st.slider(
        "Smoothing (s)",
        0,
        60,
        0,
        5,
        key="smoothing_s",
        persist_state=PERSIST,
        help="Moving average over the timeline before thresholding; 0 = none.",
    )
    with st.expander("Prompt template"):
        template = st.text_input(
            "Template",
            DEFAULT_TEMPLATE,
            key="template",
            persist_state=PERSIST,
            help='What the model reads for each prompt; {} marks the prompt ("{}" alone uses it verbatim).',
        )
    settings = HighlightSettings.on_scale(
        scale,
        threshold=float(threshold),
        per_prompt=tuple(per_prompt),
        min_duration_s=float(min_duration_s),
        merge_gap_s=float(merge_gap_s),
        smoothing_s=float(smoothing_s),
    )
    return template, settings


def _chat_keywords() -> tuple[tuple[str, ...], str | None]:
    """The chat keywords typed (the defaults while they are not usable) and why not, if so."""
    with st.expander("Chat keywords"):
        text = st.text_input(
            "Counted in chat",
            ", ".join(DEFAULT_KEYWORDS),
            key="chat_keywords",
            persist_state=PERSIST,
            help="Emotes, words and two-word phrases, comma-separated "
            f"(at most {MAX_KEYWORDS}): what a highlight's chat reaction names. Emote names match "
            "case-sensitively, words and phrases in any case. Counted from the stored chat, "
            "so changing them needs no chat file.",
        )
        try:
            return parse_keywords(text), None
        except HypelineError as e:
            st.error(str(e))
            return DEFAULT_KEYWORDS, str(e)


def _problem(prompts: Sequence[Prompt], template: str) -> str | None:
    """Why these prompts cannot be scored, as one sentence with its fix (None if they can)."""
    if not any(not p.background for p in prompts):
        return 'Add at least one moment to find (a prompt not marked bg), e.g. "win celebration".'
    if any(not p.text for p in prompts):
        return (
            "One of the prompts is empty; type what it should find, or remove it with its × button."
        )
    try:
        Prompts.parse(
            [p.text for p in prompts if not p.background],
            [p.text for p in prompts if p.background],
            template,
        )
    except HypelineError as e:
        return str(e)
    return None


def _too_long(name: str, prompts: Sequence[Prompt], template: str) -> str | None:
    """Why a prompt does not fit the model's text tower, once the model is loaded."""
    clap = model.get(name, block=False) if name else None  # checked again once it is loaded
    if clap is None:
        return None
    try:
        Prompts(tuple(p.text for p in prompts), (), template).fit(clap)
    except HypelineError as e:
        return str(e)
    return None


def _remove(pid: int) -> None:
    st.session_state.prompt_ids = [i for i in st.session_state.prompt_ids if i != pid]


def _add(background: bool) -> None:
    """The add box's Enter: its prompts become rows, and the box is emptied.

    The one place a submission is read (its ``on_change``), yet a submission can arrive
    twice: the callback runs whenever the browser reports a value other than the one the
    server holds, and until the browser has drawn the emptied box it keeps reporting the
    typed text with every request it sends, such as the model poll's (``model.
    rerun_when_loaded``) fragment runs every half second, which never draw the sidebar.
    So a prompt already in the list is skipped rather than added again (which the checks
    would refuse as given twice), and one typed twice is added once.
    """
    state = st.session_state
    key = "add_background" if background else "add_moments"
    typed = str(state[key])
    state[key] = ""
    texts, already = unlisted(state, [t.strip() for t in typed.split(",")], background)
    start = sum(1 for pid in state.prompt_ids if bool(state[f"prompt_bg_{pid}"]) == background)
    append(
        state,
        [Prompt(t, presets.color(start + i, background), background) for i, t in enumerate(texts)],
    )
    echo = typed == state.get(f"{key}_added")  # the same submission again: nothing to say
    state[f"{key}_added"] = typed
    if already and not echo:
        listed = ", ".join(repr(t) for t in already)
        st.toast(f"{listed} {'is' if len(already) == 1 else 'are'} already there.")
