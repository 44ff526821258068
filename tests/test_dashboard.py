"""The dashboard headless (streamlit.testing AppTest) with the fixture checkpoint.

The frame with its sidebar, and the Analyze page end to end on a synthetic VOD: the
timeline and the table show the library's highlights, and editing thresholds, template
or prompts re-scores from the stored embeddings without touching the audio again.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion import pipeline_export
from emotion.analysis import embed_source, score
from emotion.clock import clock
from emotion.errors import Cancelled
from emotion.export import FILENAMES, write_exports
from emotion.library.records import review_key
from emotion.library.store import Store
from emotion.media.downloads import NETWORK_OPTIONS
from emotion.media.sources import open_source, source_identity
from emotion.model.clap import Clap
from emotion.scoring.highlights import Highlight, HighlightSettings
from emotion.scoring.prompts import DEFAULT_TEMPLATE
from tests.conftest import TINY_CLAP
from tests.httpserver import serve_folder
from tests.media import write_media
from tests.running import start_analyze, wait_for_a_holder
from tests.synth import make_vod
from ui import exports, model, timeline
from ui.prompt_rows import Prompt, seed

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
SR = 48_000
DURATION_S = 90.0
EVENTS = [("a whistle", 20.0, 30.0), ("clicking", 55.0, 65.0)]
LABELS = ["a whistle", "clicking"]
BACKGROUND = ["silence"]
PROMPTS = [
    Prompt("a whistle", "#636EFA"),
    Prompt("clicking", "#EF553B"),
    Prompt("silence", "#9E9E9E", background=True),
]
RUN_TIMEOUT_S = 120
FOLLOWING = "Another process is analysing this VOD; following its progress."
LONG_WINDOWS = 47  # 240 s: starts 0, 5, …, 230


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("HYPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYPELINE_MODEL", str(TINY_CLAP))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def vod(tmp_path_factory) -> Path:
    audio = make_vod(EVENTS, DURATION_S, SR, np.random.default_rng(5))
    path = tmp_path_factory.mktemp("vod") / "synthetic-vod.mp4"
    return write_media(path, audio, SR, audio_args=("-c:a", "aac", "-b:a", "128k"), video=True)


@pytest.fixture(scope="module")
def long_vod(tmp_path_factory) -> Path:
    """Long enough (batches of 2) for a second caller to arrive while the first embeds."""
    audio = make_vod(
        [("a whistle", 60.0, 75.0), ("clicking", 150.0, 165.0)], 240.0, SR, np.random.default_rng(6)
    )
    return write_media(tmp_path_factory.mktemp("long") / "long-vod.flac", audio, SR)


@pytest.fixture(scope="module")
def long_reference(clap, long_vod: Path, tmp_path_factory) -> np.ndarray:
    """The vectors of a solo analysis of ``long_vod`` in batches of 2."""
    store = Store(tmp_path_factory.mktemp("ref"))
    source = open_source(str(long_vod))
    record = embed_source(clap, store, source, source_identity(source), batch_size=2)
    assert record.n_done == LONG_WINDOWS
    return store.vectors(record)


def app(prompts: list[Prompt] = PROMPTS) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S)
    seed(at.session_state, prompts)
    return at


def analyzed(at: AppTest, vod: Path | str) -> AppTest:
    """Run the app, paste the VOD's path and press Analyze."""
    at.run()
    assert not at.exception
    at.text_input(key="link").input(str(vod))
    at.button(key="analyze_link").click()
    return at.run()


def count_embedded(monkeypatch) -> list[int]:
    """From now on, the size of every batch the model embeds (the list grows as it does)."""
    embedded: list[int] = []
    embed_audio = Clap.embed_audio

    def counting(self, waveforms):
        embedded.append(len(waveforms))
        return embed_audio(self, waveforms)

    monkeypatch.setattr(Clap, "embed_audio", counting)
    return embedded


def rows(at: AppTest) -> list[tuple[str, str, str, float]]:
    (editor,) = at.data_editor
    table = editor.value
    return [
        (r.moment, r.start, r.end, round(float(r.score), 6)) for r in table.itertuples(index=False)
    ]


def expected_rows(
    store: Store, clap, labels=LABELS, template=DEFAULT_TEMPLATE, **settings
) -> list[tuple[str, str, str, float]]:
    (record,) = store.analyses()
    analysis = score(
        record,
        store.vectors(record),
        clap,
        labels,
        BACKGROUND,
        template,
        HighlightSettings(**settings),
    )
    return [
        (h.label, clock(h.start_s), clock(h.end_s), round(h.score, 6)) for h in analysis.highlights
    ]


def test_frame_shows_the_sidebar_with_the_model_ready(home: Path) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="model_choice").value == "Local folder…"
    assert at.sidebar.text_input(key="model_folder").value == str(TINY_CLAP)
    status = " ".join(m.value for m in at.sidebar.markdown)
    assert re.search(r"ready · (cpu|cuda) · (fp32|bf16|fp16)", status), status
    # The stream preset is loaded: its moments, and its background marked as such.
    texts = {w.key: w.value for w in at.sidebar.text_input}
    prompts = [texts[f"prompt_text_{i}"] for i in at.session_state["prompt_ids"]]
    assert prompts[:2] == ["win celebration", "fail frustration"]
    assert "silence" in prompts
    assert not at.error
    assert "Analyze" in [b.label for b in at.button]


def test_no_page_lives_at_its_files_name() -> None:
    """dashboard.py's rule that keeps Streamlit's legacy pages/ router off every page."""
    import ast

    calls = [
        node
        for node in ast.walk(ast.parse(Path(DASHBOARD).read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"
    ]
    assert len(calls) >= 2
    for call in calls:
        script = Path(call.args[0].value)
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        assert (script.parent.name, script.suffix) == ("pages", ".py")
        assert kwargs.get("url_path") not in (None, script.stem), ast.unparse(call)


def test_every_run_goes_through_the_frame_whatever_the_page(home: Path) -> None:
    at = app().run()
    assert not at.exception
    at.sidebar.slider(key="threshold").set_value(0.3).run()
    at.switch_page("pages/clip_lab.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Clip Lab"]
    assert at.sidebar.slider(key="threshold").value == 0.3  # the frame's sidebar, kept
    at.sidebar.slider(key="threshold").set_value(0.4).run()  # a later run: still framed
    assert [t.value for t in at.title] == ["Clip Lab"]
    assert at.session_state["settings"].highlights.threshold == 0.4
    at.switch_page("pages/analyze.py").run()
    assert [t.value for t in at.title] == ["Find the moments"]
    assert at.sidebar.slider(key="threshold").value == 0.4


def test_a_preset_replaces_the_prompts(home: Path) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S).run()
    at.sidebar.selectbox(key="preset").select("Instruments").run()
    assert not at.exception
    texts = [at.session_state[f"prompt_text_{i}"] for i in at.session_state["prompt_ids"]]
    assert texts == ["piano", "guitar", "violin"]
    at.sidebar.text_input(key="add_background").input("room tone").run()
    ids = at.session_state["prompt_ids"]
    assert [at.session_state[f"prompt_bg_{i}"] for i in ids] == [False, False, False, True]


def test_analyze_page_shows_the_librarys_highlights_and_rescores_without_audio(
    home: Path, vod: Path, clap, monkeypatch
) -> None:
    at = analyzed(app(), vod)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [s.label for s in at.status] == ["Analyzed synthetic-vod"]
    assert at.get("plotly_chart"), "no timeline"
    store = Store(home)
    (record,) = store.analyses()
    assert record.complete and record.n_done == 17
    assert rows(at) == expected_rows(store, clap)
    whistles = [r for r in rows(at) if r[0] == "a whistle"]
    assert any(start <= clock(25) <= end for _, start, end, _ in whistles), whistles
    assert [b.label for b in at.get("download_button")][:6] == [
        "YouTube chapters",
        "EDL",
        "FCPXML",
        "SRT",
        "CSV",
        "JSON",
    ]

    # From here on, touching the audio or the audio tower is a failure.
    def no_audio(*args, **kwargs):
        raise AssertionError("re-scoring went back to the audio")

    monkeypatch.setattr("emotion.model.clap.Clap.embed_audio", no_audio)
    monkeypatch.setattr("emotion.analysis.stream_audio", no_audio)

    at.sidebar.slider(key="threshold").set_value(0.3).run()
    assert not at.exception, at.exception
    assert rows(at) == expected_rows(store, clap, threshold=0.3)

    at.sidebar.slider(key="merge_gap_s").set_value(20).run()
    assert rows(at) == expected_rows(store, clap, threshold=0.3, merge_gap_s=20.0)

    at.sidebar.text_input(key="template").input("the sound of {}").run()
    assert not at.exception, at.exception
    assert rows(at) == expected_rows(
        store, clap, template="the sound of {}", threshold=0.3, merge_gap_s=20.0
    )

    at.sidebar.text_input(key="add_moments").input("a siren").run()
    assert not at.exception, at.exception
    assert rows(at) == expected_rows(
        store, clap, [*LABELS, "a siren"], "the sound of {}", threshold=0.3, merge_gap_s=20.0
    )
    assert store.analyses() == [record]  # no new analysis, nothing re-embedded


def test_a_link_is_downloaded_with_progress_then_analysed(
    home: Path, vod: Path, clap, monkeypatch
) -> None:
    monkeypatch.setitem(NETWORK_OPTIONS, "retries", 0)
    with serve_folder(vod.parent) as server:
        at = analyzed(app(), server.url(vod.name))
    assert not at.exception, at.exception
    (status,) = at.status
    bars = {p.proto.text.split(":")[0]: p.value for p in status.get("progress")}
    assert bars == {"Downloading": 100, "Listening (decode + embed)": 100}, bars
    store = Store(home)
    (record,) = store.analyses()
    assert record.source.url == server.url(vod.name) and record.complete
    assert rows(at) == expected_rows(store, clap)
    assert at.get("download_button")[0].label == "YouTube chapters"


def test_a_past_analysis_opens_from_the_library(home: Path, vod: Path, clap) -> None:
    store = Store(home)
    source = open_source(str(vod))
    embed_source(clap, store, source, source_identity(source))
    at = app().run()
    assert at.selectbox(key="library").options == ["synthetic-vod · 1:30 · tiny-clap"]
    at.button(key="library_open").click().run()
    assert not at.exception, at.exception
    assert not at.status  # nothing ran
    assert rows(at) == expected_rows(store, clap)


def test_an_upload_is_saved_to_disk_analysed_and_played_from_a_preview(
    home: Path, vod: Path, clap, monkeypatch
) -> None:
    monkeypatch.setattr("ui.results.PLAYER_MAX_BYTES", 0)  # as if the VOD were huge
    at = app().run()
    at.file_uploader(key="upload").upload("synthetic-vod.mp4", vod.read_bytes(), "video/mp4")
    at.run()
    at.button(key="analyze_upload").click().run()
    assert not at.exception, at.exception
    (saved,) = (home / "uploads").glob("*/synthetic-vod.mp4")
    assert saved.read_bytes() == vod.read_bytes()
    assert [p.name for p in (home / "uploads").iterdir()] == [saved.parent.name]  # no leftovers
    store = Store(home)
    (record,) = store.analyses()
    assert record.source.path == saved and record.complete
    assert rows(at) == expected_rows(store, clap)
    (preview,) = (home / "previews").glob("*.m4a")
    assert preview.stat().st_size < saved.stat().st_size
    assert at.get("audio") and not at.get("video")


def test_an_interrupted_analysis_resumes_from_the_library(
    home: Path, vod: Path, clap, monkeypatch
) -> None:
    store = Store(home)
    source = open_source(str(vod))
    stop = threading.Event()
    with pytest.raises(Cancelled):
        embed_source(
            clap,
            store,
            source,
            source_identity(source),
            batch_size=4,
            progress=lambda p: stop.set(),
            cancel=stop,
        )
    (record,) = store.analyses()
    assert not record.complete and record.n_done == 4
    embedded = count_embedded(monkeypatch)
    at = app().run()
    assert at.selectbox(key="library").options == [
        "synthetic-vod · 1:30 · tiny-clap · incomplete (22%) — resume"
    ]
    at.button(key="library_resume").click().run()
    assert not at.exception, at.exception
    assert [s.label for s in at.status] == ["Analyzed synthetic-vod"]
    assert sum(embedded) == 17 - 4  # resumed where it stopped
    (record,) = store.analyses()
    assert record.complete and record.n_done == 17
    assert rows(at) == expected_rows(store, clap)


def test_clips_are_cut_on_demand_into_a_zip(home: Path, vod: Path, clap) -> None:
    at = analyzed(app(), vod)
    n = len(rows(at))
    assert "Clips (zip)" not in [b.label for b in at.get("download_button")]
    at.button(key="prepare_clips").click().run()
    assert not at.exception, at.exception
    (archive,) = (home / "exports").glob("*/clips-*.zip")
    with zipfile.ZipFile(archive) as z:
        assert len(z.namelist()) == n > 0
    assert "Clips (zip)" in [b.label for b in at.get("download_button")]


def test_missing_weights_say_so_and_the_library_stays_browsable(
    home: Path, vod: Path, clap, tmp_path: Path, monkeypatch
) -> None:
    store = Store(home)
    source = open_source(str(vod))
    embed_source(clap, store, source, source_identity(source))  # analysed with the fixture
    gone = tmp_path / "gone-model"  # and one whose model is not here any more
    record = store.open_analysis(source, "sha256:other", str(gone), 10.0, 5.0, clap.embedding_dim)
    with store.lease(record.id) as lease:
        store.append(lease, record.id, clap.embedding_dim, np.zeros((1, clap.embedding_dim)), 1)
        store.finish(lease, record.id, 5.0)
    monkeypatch.setenv("HYPELINE_MODEL", str(tmp_path / "no-such-model"))
    assert model.start(str(tmp_path / "no-such-model")).wait(30)  # failed: drawn on the rerun

    at = app().run()
    assert not at.exception
    assert any("Model folder not found" in e.value for e in at.error)
    assert any("missing" in m.value for m in at.sidebar.markdown)
    assert len(at.selectbox(key="library").options) == 2

    # New work needs the model: Analyze says why instead of starting.
    at.text_input(key="link").input(str(vod))
    at.button(key="analyze_link").click().run()
    assert not at.exception and not at.status

    # A past analysis still opens (its own model is here) ...
    fixture_id = next(r.id for r in store.analyses() if r.model == str(TINY_CLAP))
    at.selectbox(key="library").set_value(fixture_id)
    at.button(key="library_open").click().run()
    assert not at.exception
    assert at.get("plotly_chart")
    # ... and one whose model is gone says that results need it.
    at.selectbox(key="library").set_value(record.id)
    at.button(key="library_open").click().run()
    assert not at.exception
    assert any("Results need the model" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_bad_input_is_one_sentence(home: Path) -> None:
    at = app().run()
    at.text_input(key="link").input(str(home / "nope.mp4"))
    at.button(key="analyze_link").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"File not found: {home / 'nope.mp4'}. Check the path and try again."
    ]
    at = app([Prompt("silence", "#999999", background=True)]).run()
    assert not at.exception
    at.text_input(key="link").input("https://example.invalid/v/1")
    at.button(key="analyze_link").click().run()
    assert [e.value for e in at.error] == [
        'Add at least one moment to find (a prompt not marked bg), e.g. "win celebration".'
    ]


# --- the pure parts ----------------------------------------------------------------


def _highlight(label: str, start_s: float) -> Highlight:
    return Highlight(label, start_s, start_s + 10, start_s + 5, 0.9)


def test_export_files_are_what_the_writers_write(clap, home, vod, tmp_path) -> None:
    store = Store(home)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    analysis = score(record, store.vectors(record), clap, LABELS, BACKGROUND)
    data, _ = pipeline_export.export_files(analysis, store, exports.BUTTONS)
    write_exports(analysis, tmp_path / "out", exports.BUTTONS)
    for fmt in exports.BUTTONS:
        assert data[fmt] == (tmp_path / "out" / FILENAMES[fmt]).read_bytes(), fmt
    assert data["chapters"].decode().startswith("0:00 ")


def test_timeline_figure_has_a_line_per_prompt_bands_and_threshold(clap, home, vod) -> None:
    store = Store(home)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    analysis = score(record, store.vectors(record), clap, LABELS, BACKGROUND)
    colors = {p.text: p.color for p in PROMPTS}
    fig = timeline.figure(analysis, colors, 0.5)
    lines = [t for t in fig.data if t.name not in ("highlights", "bands")]
    assert [t.name for t in lines] == ["a whistle", "clicking", "silence (background)"]
    assert [t.line.color for t in lines] == ["#636EFA", "#EF553B", "#9E9E9E"]
    assert lines[2].line.dash == "dot"
    bands = next(t for t in fig.data if t.name == "bands")
    assert len(bands.x) == len(analysis.highlights) > 0
    first = analysis.highlights[0]
    assert bands.width[0] == (first.end_s - first.start_s) * 1000
    assert bands.customdata[0][0] == first.start_s  # a click on a band plays its start
    assert [s.y0 for s in fig.layout.shapes if s.type == "line"] == [0.5]
    # Every point carries its time: in seconds for a click, as h:mm:ss for the hover.
    assert lines[0].customdata[4][0] == 20.0 and lines[0].customdata[4][1] == "0:20"
    stars = next(t for t in fig.data if t.name == "highlights")
    assert [c[0] for c in stars.customdata] == [h.start_s for h in analysis.highlights]
    dropped = {review_key(analysis.highlights[0].label, analysis.highlights[0].start_s)}
    fig = timeline.figure(dataclasses.replace(analysis), colors, 0.5, dropped=dropped)
    assert next(t for t in fig.data if t.name == "highlights").marker.symbol[0] == "star-open"


def test_a_chat_replay_adds_a_lane_with_its_spikes_under_the_prompts(clap, home, vod) -> None:
    from emotion.chat.series import ChatSeries

    store = Store(home)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    analysis = score(record, store.vectors(record), clap, LABELS, BACKGROUND)
    messages = np.full(9, 2)
    messages[7] = 30  # 1:10–1:20: chat goes wild after the whistle
    tokens = tuple({"KEKW": 12, "Pog": 20} if i == 7 else {} for i in range(9))
    chat = ChatSeries(10.0, messages, messages, tokens, baseline=2.0)
    fig = timeline.figure(analysis, {p.text: p.color for p in PROMPTS}, 0.5, chat=chat)
    lane = next(t for t in fig.data if t.name == "chat")
    assert lane.yaxis == "y2" and list(lane.y) == list(messages)
    assert [c[0] for c in lane.customdata] == [10.0 * i for i in range(9)]  # a click plays there
    spike = lane.customdata[7]
    assert spike[1:] == ["1:10", "Pog, KEKW", "spike · "] and lane.customdata[6][3] == ""
    assert lane.marker.color[7] == timeline.SPIKE_COLOR != lane.marker.color[6]
    # the prompts' lines and threshold stay on the first row; the lane has the usual rate
    assert {t.yaxis for t in fig.data if t.name != "chat"} == {"y"}
    assert sorted(s.y0 for s in fig.layout.shapes if s.type == "line") == [0.5, 2.0]
    # no chat: the figure is as it was, one row
    assert "yaxis2" not in timeline.figure(analysis, {}, 0.5).layout


def test_a_click_or_a_box_on_the_timeline_gives_a_time() -> None:
    assert timeline.selected_time(None) is None
    assert timeline.selected_time({"points": [], "box": []}) is None
    point = {"x": "1970-01-01 00:01:02.5", "customdata": [60.0, "1:00"]}
    assert timeline.selected_time({"points": [point]}) == 60.0
    assert timeline.selected_time({"points": [{"x": "1970-01-01 01:00:05"}]}) == 3605.0
    box = {"x": ["1970-01-01 00:00:40", "1970-01-01 00:00:30"]}
    assert timeline.selected_time({"points": [], "box": [box]}) == 30.0


# --- many callers of one analysis ---------------------------------------------------


def test_a_session_follows_a_cli_run_of_the_same_vod(
    home: Path, long_vod: Path, long_reference: np.ndarray, clap, tmp_path: Path, monkeypatch
) -> None:
    cli = start_analyze(
        str(long_vod),
        "--labels",
        ", ".join(LABELS),
        "--background",
        ", ".join(BACKGROUND),
        "--batch-size",
        "2",
        "--formats",
        "json",
        "--out",
        str(tmp_path / "cli"),
        home=home,
        log=tmp_path / "cli",
    )
    try:
        assert wait_for_a_holder(home) < LONG_WINDOWS
        embedded = count_embedded(monkeypatch)
        at = analyzed(app(), long_vod)
        cli.wait(timeout=RUN_TIMEOUT_S)
    finally:
        cli.kill()
        cli.wait()
    assert cli.returncode == 0, (tmp_path / "cli.err").read_text()
    assert not at.exception, at.exception
    assert [s.label for s in at.status] == ["Analyzed long-vod"]
    assert [w.value for w in at.warning] == [FOLLOWING]
    (status,) = at.status
    bars = {p.proto.text.split(":")[0]: p.value for p in status.get("progress")}
    assert bars == {"Following the other run": 100}, bars
    assert embedded == []  # the session wrote nothing: the CLI embedded every window
    store = Store(home)
    (record,) = store.analyses()
    np.testing.assert_array_equal(store.vectors(record), long_reference)
    assert rows(at) == expected_rows(store, clap)
    doc = json.loads((tmp_path / "cli" / "highlights.json").read_text())
    assert [(h["label"], clock(h["start_s"]), clock(h["end_s"])) for h in doc["highlights"]] == [
        r[:3] for r in rows(at)
    ]


def test_two_sessions_on_one_vod_share_one_model_and_one_writer(
    home: Path, long_vod: Path, long_reference: np.ndarray, clap, monkeypatch
) -> None:
    monkeypatch.setattr("emotion.analysis.default_batch_size", lambda clap: 2)
    import emotion.model.clap as clap_module

    loads: list[str] = []
    load_clap = clap_module.load_clap

    def counting_loads(name: str):
        loads.append(name)
        return load_clap(name)

    monkeypatch.setattr(clap_module, "load_clap", counting_loads)  # ui.model's loader thread
    model._load.clear()  # loaded by earlier tests of this process
    assert model.start(str(TINY_CLAP)).wait(120)
    embedded = count_embedded(monkeypatch)
    sessions: dict[str, AppTest] = {}
    first = threading.Thread(target=lambda: sessions.update(first=analyzed(app(), long_vod)))
    first.start()
    try:
        assert wait_for_a_holder(home) < LONG_WINDOWS
        sessions["second"] = analyzed(app(), long_vod)
    finally:
        first.join(timeout=RUN_TIMEOUT_S)
    assert not first.is_alive()
    for name, at in sessions.items():
        assert not at.exception, (name, at.exception)
        assert [s.label for s in at.status] == ["Analyzed long-vod"], name
    assert [w.value for w in sessions["first"].warning] == []
    assert [w.value for w in sessions["second"].warning] == [FOLLOWING]
    assert sum(embedded) == LONG_WINDOWS  # every window embedded once, by the first
    assert loads == [str(TINY_CLAP)]  # one model for the whole server process
    store = Store(home)
    (record,) = store.analyses()
    np.testing.assert_array_equal(store.vectors(record), long_reference)
    assert rows(sessions["first"]) == rows(sessions["second"]) == expected_rows(store, clap)


def test_a_damaged_analysis_is_not_scored_and_analysing_again_repairs_it(
    home: Path, vod: Path, clap
) -> None:
    store = Store(home)
    source = open_source(str(vod))
    record = embed_source(clap, store, source, source_identity(source))
    path = store.vectors_dir / f"{record.id}.f32"
    clean = path.read_bytes()
    path.write_bytes(clean + b"\0" * 64)
    at = app().run()
    at.button(key="library_open").click().run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [store.check(record)]
    assert not at.get("plotly_chart")  # not scored as it is
    at.button(key="repair").click().run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [
        f"The stored vectors of synthetic-vod had 64 bytes more than its {record.n_done} "
        "windows (a second writer); embedding it again."
    ]
    assert [s.label for s in at.status] == ["Analyzed synthetic-vod"]
    assert path.read_bytes() == clean
    assert rows(at) == expected_rows(store, clap)


# --- what a new user reads ------------------------------------------------------------


def test_missing_weights_are_said_once(home: Path, vod: Path) -> None:
    assert model.start("/nonexistent/model").wait(30)  # failed: drawn on the rerun
    at = app().run()
    at.sidebar.text_input(key="model_folder").input("/nonexistent/model").run()
    sentence = (
        "Model folder not found: /nonexistent/model; give a folder that holds a CLAP "
        "checkpoint, or a Hugging Face id such as laion/clap-htsat-fused."
    )
    assert [e.value for e in at.error] == [sentence]
    at.text_input(key="link").input(str(vod))
    at.button(key="analyze_link").click().run()
    assert not at.exception and not at.status
    errors = [e.value for e in at.error]
    assert errors.count(sentence) == 1, errors
    assert errors == [
        sentence,
        "Analyze needs the model: fix it as the message at the top says, then press Analyze again.",
    ]


def test_the_first_steps_hint_goes_once_analyze_is_pressed(home: Path, vod: Path) -> None:
    hint = "Paste a link or drop a file above and press **Analyze**, or open a past analysis from the Library."
    at = app().run()
    assert [i.value for i in at.info] == [hint]
    at.text_input(key="link").input(str(home / "nope.mp4"))
    at.button(key="analyze_link").click().run()  # a run that stops on an error
    assert [e.value for e in at.error] == [
        f"File not found: {home / 'nope.mp4'}. Check the path and try again."
    ]
    assert [i.value for i in at.info] == []
    at.text_input(key="link").input(str(vod))
    at.button(key="analyze_link").click().run()
    assert [s.label for s in at.status] == ["Analyzed synthetic-vod"]
    assert [i.value for i in at.info] == [] and rows(at)


def test_the_preset_box_says_custom_once_the_prompts_are_no_presets(home: Path) -> None:
    at = AppTest.from_file(DASHBOARD, default_timeout=RUN_TIMEOUT_S).run()
    box = at.sidebar.selectbox(key="preset")
    assert box.value == "Stream emotions" and "Custom" not in box.options
    for i, pid in enumerate(at.session_state["prompt_ids"]):
        at.sidebar.text_input(key=f"prompt_text_{pid}").input(f"my sound {i}")
    at.run()
    assert not at.exception
    box = at.sidebar.selectbox(key="preset")
    assert box.value == "Custom" and box.options[-1] == "Custom"
    texts = [at.session_state[f"prompt_text_{i}"] for i in at.session_state["prompt_ids"]]
    assert texts[0] == "my sound 0"  # picking nothing replaced them
    box.select("Instruments").run()
    box = at.sidebar.selectbox(key="preset")
    assert box.value == "Instruments" and "Custom" not in box.options
    texts = [at.session_state[f"prompt_text_{i}"] for i in at.session_state["prompt_ids"]]
    assert texts == ["piano", "guitar", "violin"]
    # Seeded prompts (a test's, a pack's) that match no preset: Custom from the first run.
    assert app().run().sidebar.selectbox(key="preset").value == "Custom"


def test_the_first_view_never_waits_for_the_model(home: Path, monkeypatch) -> None:
    import emotion.model.clap as clap_module

    release = threading.Event()
    load_clap = clap_module.load_clap

    def slow_load(name: str):
        assert release.wait(120)  # as importing torch and reading weights on a busy machine
        return load_clap(name)

    monkeypatch.setattr(clap_module, "load_clap", slow_load)
    model._load.clear()
    try:
        at = app().run()  # returns while the model is still loading
        assert not at.exception
        assert not model.known(str(TINY_CLAP))
        status = " ".join(m.value for m in at.sidebar.markdown)
        assert "loading…" in status and "ready" not in status
        assert at.text_input(key="link").label  # the page's input is there to use
        assert at.button(key="analyze_link").label == "Analyze"
    finally:
        release.set()
    assert model.start(str(TINY_CLAP)).wait(120)
    at.run()
    status = " ".join(m.value for m in at.sidebar.markdown)
    assert re.search(r"ready · cpu · fp32", status), status
