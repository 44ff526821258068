"""``highlights.fcpxml``: the whole VOD as one clip with a marker per highlight (FCPXML 1.10).

Final Cut Pro and DaVinci Resolve import it as a project holding the source media on its
timeline, markers on it, nothing cut. Times are exact rationals on the frame grid
(``1001/30000s`` at 29.97). We do not probe the picture size: the format is declared
1920×1080 and the editor scales the clip to fit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from emotion.analysis import Analysis
from emotion.export.srt import cue_text
from emotion.export.timefmt import (
    by_start,
    fps_of,
    frame_duration,
    media_duration_s,
    rational,
    to_frames,
)

FCPXML_VERSION = "1.10"
WIDTH, HEIGHT = 1920, 1080
EVENT_NAME = "Hypeline"


def write(analysis: Analysis, path: Path) -> list[str]:
    """Write ``highlights.fcpxml`` at ``analysis.source.fps`` (30 when there is no video)."""
    source = analysis.source
    frame = frame_duration(fps_of(analysis))
    n_frames = max(1, to_frames(media_duration_s(analysis), frame))
    duration = rational(n_frames * frame)
    name = " ".join(source.title.split()) or source.path.stem

    root = ET.Element("fcpxml", version=FCPXML_VERSION)
    resources = ET.SubElement(root, "resources")
    ET.SubElement(
        resources,
        "format",
        id="r1",
        name="FFVideoFormatRateUndefined",
        frameDuration=rational(frame),
        width=str(WIDTH),
        height=str(HEIGHT),
    )
    asset = ET.SubElement(
        resources,
        "asset",
        id="r2",
        name=name,
        start="0s",
        duration=duration,
        hasVideo="1" if source.has_video else "0",
        hasAudio="1",
        format="r1",
        audioSources="1",
        audioChannels="2",
    )
    ET.SubElement(asset, "media-rep", kind="original-media", src=source.path.resolve().as_uri())

    event = ET.SubElement(ET.SubElement(root, "library"), "event", name=EVENT_NAME)
    project = ET.SubElement(event, "project", name=name)
    sequence = ET.SubElement(
        project,
        "sequence",
        format="r1",
        duration=duration,
        tcStart="0s",
        tcFormat="NDF",
        audioLayout="stereo",
        audioRate="48k",
    )
    spine = ET.SubElement(sequence, "spine")
    clip = ET.SubElement(
        spine,
        "asset-clip",
        ref="r2",
        name=name,
        offset="0s",
        start="0s",
        duration=duration,
        format="r1",
        tcFormat="NDF",
    )
    for h in by_start(analysis.highlights):
        start = min(to_frames(h.start_s, frame), n_frames - 1)
        length = max(1, min(to_frames(h.end_s, frame), n_frames) - start)
        ET.SubElement(
            clip,
            "marker",
            start=rational(start * frame),
            duration=rational(length * frame),
            value=cue_text(h.label, h.score),
        )

    ET.indent(root, space="  ")
    with path.open("wb") as f:
        f.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n')
        ET.ElementTree(root).write(f, encoding="utf-8", xml_declaration=False)
        f.write(b"\n")
    return []
