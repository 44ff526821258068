"""Decoding any container/codec ffmpeg reads into mono float32 at the model's rate."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from emotion.errors import AudioError
from emotion.media.audio import ffmpeg_exe, load_audio, probe, stream_audio
from tests.media import tone, write_media

pytestmark = pytest.mark.decoder  # every test here reads media through ffmpeg


def peak_hz(x: np.ndarray, sampling_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sampling_rate)[spectrum.argmax()])


def test_ffmpeg_binary_runs() -> None:
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("ffmpeg version")


def test_stereo_22k_is_resampled_to_48k_mono(tmp_path: Path) -> None:
    left = tone(1000, 3.0, 22_050)
    stereo = np.stack([left, left], axis=1)
    path = write_media(tmp_path / "stereo.wav", stereo, 22_050, channels=2)
    audio = load_audio(path, 48_000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 3 * 48_000) <= 48  # within 1 ms
    assert peak_hz(audio, 48_000) == pytest.approx(1000, abs=2)
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.02)  # L+R averaged, not summed


@pytest.mark.parametrize(
    ("suffix", "args", "video"),
    [
        (".mp3", ("-c:a", "libmp3lame"), False),
        (".flac", (), False),
        (".ogg", ("-c:a", "libvorbis"), False),
        (".m4a", ("-c:a", "aac"), False),
        (".mp4", ("-c:a", "aac"), True),
        (".mkv", ("-c:a", "libopus"), True),
        (".webm", ("-c:a", "libopus"), False),
    ],
)
def test_common_formats_decode(
    tmp_path: Path, suffix: str, args: tuple[str, ...], video: bool
) -> None:
    path = write_media(
        tmp_path / f"clip{suffix}", tone(440, 2.0, 44_100), 44_100, audio_args=args, video=video
    )
    audio = load_audio(path, 48_000)
    assert abs(audio.size - 2 * 48_000) < 0.06 * 48_000  # codec priming/padding aside
    assert peak_hz(audio, 48_000) == pytest.approx(440, abs=3)


def test_stream_yields_bounded_chunks(tmp_path: Path) -> None:
    path = write_media(tmp_path / "long.wav", tone(300, 25.0, 48_000), 48_000)
    chunks = list(stream_audio(path, 48_000, chunk_s=10.0))
    assert [c.size for c in chunks] == [480_000, 480_000, 240_000]


def test_probe_reads_duration_and_video_rate(tmp_path: Path) -> None:
    path = write_media(
        tmp_path / "v.mp4", tone(440, 4.0, 48_000), 48_000, audio_args=("-c:a", "aac"), video=True
    )
    info = probe(path)
    assert info.duration_s == pytest.approx(4.0, abs=0.1)
    assert info.has_audio and info.has_video and info.fps == 25


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="File not found: .*nope.wav"):
        load_audio(tmp_path / "nope.wav", 48_000)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(AudioError, match="notes.mp4 is not a media file ffmpeg can read"):
        load_audio(path, 48_000)


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=25:d=1",
            "-c:v",
            "libx264",
            str(path),
        ],
        check=True,
    )
    with pytest.raises(AudioError, match="silent.mp4 has no audio track"):
        load_audio(path, 48_000)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = write_media(tmp_path / "empty.wav", np.zeros(0, np.float32), 48_000)
    with pytest.raises(AudioError, match="empty.wav contains no audio samples"):
        load_audio(path, 48_000)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path, 48_000)


def test_hypeline_ffmpeg_picks_the_binary(monkeypatch, tmp_path) -> None:
    from emotion.media.audio import FFMPEG_ENV, ffmpeg_exe

    wheel = imageio_ffmpeg.get_ffmpeg_exe()
    monkeypatch.setenv(FFMPEG_ENV, wheel)
    assert ffmpeg_exe() == wheel
    monkeypatch.setenv(FFMPEG_ENV, str(tmp_path / "no-ffmpeg-here"))
    with pytest.raises(AudioError, match="HYPELINE_FFMPEG is set to .*not an ffmpeg program"):
        ffmpeg_exe()
