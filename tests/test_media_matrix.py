"""Odd but valid media: every file analyses, and its event is found where it is.

Each case encodes the same synthetic VOD (a siren at 15–25 s over a quiet room bed) in
another shape a streamer's files come in: surround layouts, telephone and studio rates,
clips shorter than a window, audio that starts late or has a hole, variable frame rate,
broken float samples. Times are asserted within one hop, so they hold for every ffmpeg
build (codec priming and padding move them by tens of ms).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from emotion.analysis import embed_source, score
from emotion.library.store import Store
from emotion.media.audio import ffmpeg_exe
from emotion.media.sources import open_source, source_identity
from tests.media import write_media
from tests.synth import make_clip, make_vod

pytestmark = pytest.mark.decoder  # every test here reads media through ffmpeg

SR = 48_000
DURATION_S = 40.0
EVENT = ("a siren", 15.0, 25.0)
LABELS = ["a whistle", "a siren", "clicking"]
BACKGROUND = ["silence"]
HOP_S = 5.0


@pytest.fixture(scope="module")
def vod() -> np.ndarray:
    return make_vod([EVENT], DURATION_S, SR, np.random.default_rng(21))


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


def pcm_input(folder: Path, audio: np.ndarray, rate: int = SR, channels: int = 1) -> list[str]:
    """ffmpeg input arguments reading ``audio`` from a raw f32 file."""
    raw = folder / f"in-{rate}-{channels}.f32"
    np.ascontiguousarray(audio, dtype="<f4").tofile(raw)
    return ["-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", str(raw)]


def black_video(duration_s: float, rate: str = "25") -> list[str]:
    return ["-f", "lavfi", "-i", f"color=c=black:s=64x64:r={rate}:d={duration_s}"]


def channels(audio: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(audio[:, None], n, axis=1)


def resampled(audio: np.ndarray, rate: int) -> np.ndarray:
    import librosa

    return librosa.resample(audio, orig_sr=SR, target_sr=rate).astype(np.float32)


# name → (how to write it from the VOD into a folder, where the siren is in the file's time)
Case = Callable[[Path, np.ndarray], Path]


def encoded(name: str, rate: int, *audio_args: str) -> Case:
    """Mono at ``rate`` (resampled from the VOD's 48 kHz), encoded as ``audio_args`` say."""

    def write(d: Path, a: np.ndarray) -> Path:
        audio = a if rate == SR else resampled(a, rate)
        return write_media(d / name, audio, rate, audio_args=audio_args)

    return write


SHIFTED = (EVENT[1] + 5.0, EVENT[2] + 5.0)  # after a 5 s late start or a 5 s hole before it


def _wav_s16_stereo_44k(d: Path, a: np.ndarray) -> Path:
    return write_media(
        d / "s16.wav",
        channels(resampled(a, 44_100), 2),
        44_100,
        channels=2,
        audio_args=("-c:a", "pcm_s16le"),
    )


def _surround_51_aac(d: Path, a: np.ndarray) -> Path:
    return write_media(
        d / "surround51.mp4",
        channels(a, 6),
        SR,
        channels=6,
        video=True,
        audio_args=("-c:a", "aac", "-b:a", "256k"),
    )


def _surround_51_front_only(d: Path, a: np.ndarray) -> Path:
    # The event in the centre channel only, room bed everywhere: the downmix keeps it.
    multi = channels(a * 0.0, 6)
    multi[:, 2] = a
    return write_media(d / "centre.flac", multi, SR, channels=6)


def _surround_71_flac(d: Path, a: np.ndarray) -> Path:
    return write_media(d / "surround71.flac", channels(a, 8), SR, channels=8)


def _mov_pcm(d: Path, a: np.ndarray) -> Path:
    return write_media(
        d / "capture.mov",
        channels(a, 2),
        SR,
        channels=2,
        video=True,
        audio_args=("-c:a", "pcm_s16le"),
    )


def _mpegts(d: Path, a: np.ndarray) -> Path:
    # A transport stream starts at an arbitrary clock (1.4 s here); times count from it.
    return write_media(
        d / "record.ts", a, SR, video=True, audio_args=("-c:a", "aac", "-f", "mpegts")
    )


def _flv(d: Path, a: np.ndarray) -> Path:
    return write_media(
        d / "stream.flv", a, SR, video=True, audio_args=("-c:a", "aac", "-ar", "44100")
    )


def _vfr_video(d: Path, a: np.ndarray) -> Path:
    # Frames at irregular times (a game capture dropping frames): 25 fps with every other
    # second's frames dropped, kept as variable frame rate.
    out = d / "vfr.mp4"
    ffmpeg(
        *black_video(DURATION_S),
        *pcm_input(d, a),
        "-vf",
        "select='lt(mod(t,2),1)+not(mod(n,3))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        str(out),
    )
    return out


def _late_audio(d: Path, a: np.ndarray) -> Path:
    # The audio starts 5 s after the video (a capture card that came up late).
    out = d / "late.mp4"
    # (Timestamps shifted with asetpts: ffmpeg 9 ignores -itsoffset on raw PCM input.)
    ffmpeg(
        *black_video(DURATION_S + 5),
        *pcm_input(d, a),
        "-af",
        "asetpts=PTS+5/TB",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(out),
    )
    return out


def _hole_in_audio(d: Path, a: np.ndarray) -> Path:
    # 5 s of the stream lost at 8 s: the timestamps jump, no samples fill the hole.
    out = d / "hole.mkv"
    ffmpeg(
        *pcm_input(d, a), "-af", "asetpts='if(gte(T,8),PTS+5/TB,PTS)'", "-c:a", "libopus", str(out)
    )
    return out


def _nonfinite_float_wav(d: Path, a: np.ndarray) -> Path:
    broken = a.copy()
    broken[2 * SR : 3 * SR] = np.nan  # one second of NaN before the event
    broken[30 * SR : 30 * SR + 100] = np.inf
    broken[31 * SR : 31 * SR + 100] = -np.inf
    out = d / "broken.wav"
    np.ascontiguousarray(broken, dtype="<f4").tofile(d / "broken.f32")
    ffmpeg(
        "-f",
        "f32le",
        "-ar",
        str(SR),
        "-ac",
        "1",
        "-i",
        str(d / "broken.f32"),
        "-c:a",
        "pcm_f32le",
        str(out),
    )
    return out


CASES: dict[str, tuple[Case, tuple[float, float]]] = {
    "wav s16 stereo 44.1k": (_wav_s16_stereo_44k, EVENT[1:]),
    "wav s24": (encoded("s24.wav", SR, "-c:a", "pcm_s24le"), EVENT[1:]),
    "5.1 aac mp4": (_surround_51_aac, EVENT[1:]),
    "5.1 event in centre only": (_surround_51_front_only, EVENT[1:]),
    "7.1 flac": (_surround_71_flac, EVENT[1:]),
    "8 kHz mu-law telephone": (encoded("phone.wav", 8_000, "-c:a", "pcm_mulaw"), EVENT[1:]),
    "8 kHz aac": (encoded("phone.m4a", 8_000, "-c:a", "aac", "-b:a", "24k"), EVENT[1:]),
    "96 kHz flac": (encoded("studio96.flac", 96_000), EVENT[1:]),
    "192 kHz wav": (encoded("studio192.wav", 192_000, "-c:a", "pcm_s24le"), EVENT[1:]),
    "16 kHz wav": (encoded("voice16.wav", 16_000, "-c:a", "pcm_s16le"), EVENT[1:]),
    "44.1 kHz mp3": (encoded("vod.mp3", 44_100, "-c:a", "libmp3lame", "-b:a", "96k"), EVENT[1:]),
    "ogg vorbis": (encoded("vod.ogg", SR, "-c:a", "libvorbis"), EVENT[1:]),
    "webm opus": (encoded("vod.webm", SR, "-c:a", "libopus", "-b:a", "96k"), EVENT[1:]),
    "m4a alac": (encoded("lossless.m4a", SR, "-c:a", "alac"), EVENT[1:]),
    "mov pcm": (_mov_pcm, EVENT[1:]),
    "mpeg-ts": (_mpegts, EVENT[1:]),
    "flv": (_flv, EVENT[1:]),
    "variable frame rate": (_vfr_video, EVENT[1:]),
    "audio starts 5 s late": (_late_audio, SHIFTED),
    "5 s hole in the audio": (_hole_in_audio, SHIFTED),
    "NaN and Inf samples": (_nonfinite_float_wav, EVENT[1:]),
}


def analyse(clap, path: Path, home: Path):
    source = open_source(str(path))
    store = Store(home)
    record = embed_source(clap, store, source, source_identity(source))
    return record, score(record, store.vectors(record), clap, LABELS, BACKGROUND)


@pytest.mark.parametrize("case", list(CASES))
def test_odd_media_is_analysed_and_the_event_found_where_it_is(
    clap, tmp_path: Path, vod: np.ndarray, case: str
) -> None:
    write, (start_s, end_s) = CASES[case]
    record, analysis = analyse(clap, write(tmp_path, vod), tmp_path / "home")
    assert record.complete
    assert np.isfinite(analysis.scores).all()
    found = [(h.label, h.start_s, h.end_s) for h in analysis.highlights]
    assert [f[0] for f in found] == ["a siren"], found
    (_, got_start_s, got_end_s) = found[0]
    assert abs(got_start_s - start_s) <= HOP_S and abs(got_end_s - end_s) <= HOP_S, found
    expected_s = DURATION_S + (5.0 if (start_s, end_s) == SHIFTED else 0.0)
    assert record.duration_s == pytest.approx(expected_s, abs=0.5)


def test_nonfinite_samples_are_silence_and_counted(clap, tmp_path: Path, vod) -> None:
    record, analysis = analyse(clap, _nonfinite_float_wav(tmp_path, vod), tmp_path / "home")
    assert record.nonfinite_s == pytest.approx(1.0 + 200 / SR, abs=1e-6)
    assert analysis.nonfinite_s == record.nonfinite_s


@pytest.mark.parametrize(("length_s", "caption"), [(4.0, "a whistle"), (0.5, "clicking")])
def test_a_clip_shorter_than_a_window_is_one_window(
    clap, tmp_path: Path, length_s: float, caption: str
) -> None:
    clip = make_clip(caption, length_s, SR, np.random.default_rng(5))
    record, analysis = analyse(clap, write_media(tmp_path / "clip.wav", clip, SR), tmp_path / "h")
    assert record.n_done == 1
    assert analysis.window_starts_s.tolist() == [0.0]
    assert analysis.prompts[int(analysis.scores[0].argmax())] == caption
