"""The Clips page headless (AppTest): trims stored, bad looks refused, a short rendered, cancel."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion import pipeline, pipeline_export
from emotion.analysis import embed_source
from emotion.library.records import Trim
from emotion.library.store import Store
from emotion.media.audio import ffmpeg_exe
from emotion.media.sources import open_source, source_identity
from tests import test_dashboard as dashboard
from tests.media import write_media
from tests.synth import make_vod
from tests.test_dashboard import app
from ui.clips_render import RENDER_KEY

# The dashboard tests' fixtures: a fresh HYPELINE_HOME, the synthetic VOD (64×64 video).
home = dashboard.home
vod = dashboard.vod
RENDER_S = 240  # two cores shared with the rest of the suite


@pytest.fixture(scope="module")
def library(vod: Path, clap, tmp_path_factory) -> Path:
    """A library holding the analysis of ``vod``, embedded once (each test gets a copy)."""
    folder = tmp_path_factory.mktemp("clips-library")
    _embed(folder, vod, clap)
    return folder


def _embed(home: Path, media: Path, clap) -> int:
    store = Store(home)
    source = open_source(str(media))
    return embed_source(clap, store, source, source_identity(source)).id


def _open(
    at: AppTest, home: Path, media: Path | None, clap, library: Path | None = None
) -> tuple[AppTest, int]:
    """The Clips page over the analysis of ``media`` (embedded now), or ``library``'s."""
    if library is not None:
        shutil.copytree(library, home, dirs_exist_ok=True)
        (analysis_id,) = [r.id for r in Store(home).analyses()]
    else:
        assert media is not None
        analysis_id = _embed(home, media, clap)
    at.session_state.analysis_id = analysis_id
    at.run()
    at.switch_page("pages/clips.py").run()
    assert not at.exception, at.exception
    return at, analysis_id


def _keys(at: AppTest, prefix: str) -> list[str]:
    return [n.key for n in at.number_input if n.key and n.key.startswith(prefix)]


def _csv(aid: int, at: AppTest, home: Path, clap) -> list[tuple[str, str, str]]:
    store = Store(home)
    analysis = pipeline.moments(
        store.analysis(aid), store, clap, at.session_state["settings"].pipeline
    )
    files, _ = pipeline_export.export_files(analysis, store, ["csv"])
    return [
        (r["label"], r["start_s"], r["end_s"])
        for r in csv.DictReader(io.StringIO(files["csv"].decode()))
    ]


def test_a_trim_is_stored_on_change_and_reaches_the_exports(
    home: Path, library: Path, clap
) -> None:
    at, aid = _open(app(), home, None, clap, library)
    assert [t.value for t in at.title] == ["Clips"]
    ins, outs = _keys(at, "clips_in_"), _keys(at, "clips_out_")
    assert len(ins) == len(outs) >= 2
    before = _csv(aid, at, home, clap)
    label, start_s, end_s = before[0]
    at.number_input(key=ins[0]).set_value(-2.5).run()
    at.number_input(key=outs[0]).set_value(3.0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert Store(home).trims(aid) == {(label, float(start_s)): Trim(-2.5, 3.0)}
    length_s = float(end_s) - float(start_s)
    assert any(f"**{length_s + 5.5:.1f} s** (was {length_s:.1f} s)" in c.value for c in at.caption)
    after = _csv(aid, at, home, clap)
    assert after[0] == (label, f"{float(start_s) - 2.5:.3f}", f"{float(end_s) + 3.0:.3f}")
    assert after[1:] == before[1:]
    # A trim leaving less than a second is refused with the library's sentence, not stored.
    assert float(before[1][2]) - float(before[1][1]) < 15
    at.number_input(key=ins[1]).set_value(15.0).run()
    assert [e.value for e in at.error] == [
        "That trim leaves the moment 0.0 s long; keep it at least 1 s (move the start earlier "
        "or the end later)."
    ]
    assert len(Store(home).trims(aid)) == 1
    assert at.number_input(key=ins[1]).value == 0.0  # the input shows what is stored
    # A trim stored by another face (the CLI) shows on the next run, and no rerun undoes it.
    Store(home).set_trim(aid, label, float(start_s), Trim(-1.0, 1.0))
    at.run()
    at.run()
    assert (at.number_input(key=ins[0]).value, at.number_input(key=outs[0]).value) == (-1.0, 1.0)
    assert Store(home).trims(aid) == {(label, float(start_s)): Trim(-1.0, 1.0)}


def test_a_look_that_cannot_be_rendered_says_why(home: Path, library: Path, clap) -> None:
    at, _ = _open(app(), home, None, clap, library)
    at.segmented_control(key="clips_layout").set_value("split").run()
    assert not at.error, [e.value for e in at.error]  # the default face cam fits the frame
    at.number_input(key="clips_facecam_x").set_value(60).run()
    assert at.error[0].value.startswith("The face-cam rectangle 60,0,")
    assert "reaches outside the 64×64 video" in at.error[0].value
    at.number_input(key="clips_facecam_x").set_value(0).run()
    at.number_input(key="clips_facecam_w").set_value(0).run()
    assert at.error[0].value.startswith("The split layout needs the face cam's rectangle")
    assert all(b.disabled for b in at.button if b.key and b.key.startswith("clips_render"))


def test_crop_on_audio_only_says_what_to_use_instead(home: Path, tmp_path: Path, clap) -> None:
    audio = make_vod([("a whistle", 10.0, 20.0)], 30.0, dashboard.SR, np.random.default_rng(5))
    podcast = write_media(tmp_path / "podcast.m4a", audio, dashboard.SR, audio_args=("-c:a", "aac"))
    at, aid = _open(app(), home, podcast, clap)
    assert any("Audio only" in c.value for c in at.caption)
    at.segmented_control(key="clips_layout").set_value("crop").run()
    at.button(key="clips_render_all").click().run()
    render = at.session_state[RENDER_KEY]
    assert render.done.wait(60)
    at.run()
    assert [e.value for e in at.error] == [
        "podcast has no picture to crop; use the blur layout (the default), which shows the "
        "sound's waveform instead."
    ]
    assert not (home / "exports" / str(aid) / "shorts").exists() or not any(
        (home / "exports" / str(aid) / "shorts").iterdir()
    )


@pytest.mark.slow  # renders a 1080×1920 short with ffmpeg (about 10 s of encoding)
def test_render_this_makes_one_short_in_the_library(home: Path, library: Path, clap) -> None:
    at, aid = _open(app(), home, None, clap, library)
    first = next(b for b in at.button if b.key and b.key.startswith(f"clips_render_{aid}_"))
    first.click().run()
    render = at.session_state[RENDER_KEY]
    assert render.done.wait(RENDER_S), "the render did not finish"
    assert render.error is None, render.error
    at.run()
    assert not at.exception
    (short,) = render.paths
    assert short.parent == home / "exports" / str(aid) / "shorts" and short.is_file()
    assert sorted(p.name for p in short.parent.iterdir()) == [short.name]  # nothing half-made
    assert _size(short) == (1080, 1920)
    downloads = [b for b in at.get("download_button") if b.proto.label == "Download short"]
    assert len(downloads) == 1
    assert any("Rendered 1 short(s) into the library" in s.value for s in at.success)


@pytest.mark.slow  # renders up to one short before the cancel is seen
def test_cancel_stops_between_shorts_and_leaves_no_part(home: Path, library: Path, clap) -> None:
    at, aid = _open(app(), home, None, clap, library)
    at.button(key="clips_render_all").click().run()
    render = at.session_state[RENDER_KEY]
    n = len(render.names)
    assert n >= 2
    at.button(key="clips_cancel").click().run()
    assert render.cancel.is_set()
    assert render.done.wait(RENDER_S), "the render did not stop"
    at.run()
    assert render.error is not None and render.error.startswith("Rendering stopped after ")
    assert f"of {n} shorts; those are kept" in render.error
    assert [w.value for w in at.warning] == [render.error]
    folder = home / "exports" / str(aid) / "shorts"
    made = sorted(folder.iterdir()) if folder.is_dir() else []
    assert len(made) < n and all(p.suffix == ".mp4" and not p.name.startswith(".") for p in made)


def _size(path: Path) -> tuple[int, int]:
    cmd = [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-frames:v", "1", "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stderr
    w, h = re.search(r"Video: h264.*?, (\d+)x(\d+)", out).groups()  # type: ignore[union-attr]
    return int(w), int(h)
