"""Synthetic sounds for the test-suite and for training the tiny CLAP fixture.

Pure numpy, deterministic given a ``np.random.Generator``. Every class differs from the
others in spectrum or time structure, not just in loudness, because the audio tower is
close to level-invariant.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 48_000

FADE_S = 0.05  # fade at event edges in make_vod, so edges do not click


def _n_samples(duration_s: float, sr: int) -> int:
    return max(1, round(duration_s * sr))


def _fast_len(n: int) -> int:
    """Smallest m >= n whose only prime factors are 2, 3 and 5 (a fast FFT size)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def _shaped_noise(
    n: int, sr: int, rng: np.random.Generator, gain: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """White noise filtered by ``gain(freqs_hz)`` in the FFT domain; unit RMS, length n."""
    m = _fast_len(n)  # an awkward length (a large prime factor) makes the FFT many times slower
    spectrum = np.fft.rfft(rng.standard_normal(m))
    noise = np.fft.irfft(spectrum * gain(np.fft.rfftfreq(m, 1.0 / sr)), m)[:n]
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def _band_noise(
    n: int, sr: int, rng: np.random.Generator, lo_hz: float, hi_hz: float
) -> np.ndarray:
    """White noise restricted to [lo_hz, hi_hz]; unit RMS."""
    return _shaped_noise(n, sr, rng, lambda f: ((f >= lo_hz) & (f <= hi_hz)).astype(np.float64))


def _peak_normalise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = np.max(np.abs(x)) + 1e-12
    return (x / peak * rng.uniform(0.3, 0.8)).astype(np.float32)


def _envelope(n: int, sr: int, attack_s: float = 0.02) -> np.ndarray:
    """Short attack and release so a generated event starts and ends cleanly."""
    k = min(n // 2, max(1, int(attack_s * sr)))
    env = np.ones(n)
    ramp = np.linspace(0.0, 1.0, k)
    env[:k] = ramp
    env[n - k :] = ramp[::-1]
    return env


def whistle(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Steady sine at 1.5-3 kHz with a slight vibrato."""
    n = _n_samples(duration_s, sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(1500.0, 3000.0)
    vib_hz = rng.uniform(4.0, 7.0)
    vib_depth = rng.uniform(0.005, 0.02) * f0
    freq = f0 + vib_depth * np.sin(2 * np.pi * vib_hz * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    x = np.sin(phase) + 0.1 * np.sin(2 * phase)
    return _peak_normalise(x * _envelope(n, sr), rng)


def siren(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Sine sweeping up and down between about 500 and 1500 Hz."""
    n = _n_samples(duration_s, sr)
    t = np.arange(n) / sr
    lo = rng.uniform(450.0, 600.0)
    hi = rng.uniform(1200.0, 1600.0)
    period_s = rng.uniform(0.5, 2.0)
    sweep = 0.5 - 0.5 * np.cos(2 * np.pi * t / period_s + rng.uniform(0, 2 * np.pi))
    freq = lo + (hi - lo) * sweep
    phase = 2 * np.pi * np.cumsum(freq) / sr
    x = np.sin(phase) + 0.2 * np.sin(2 * phase)
    return _peak_normalise(x * _envelope(n, sr), rng)


def low_hum(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """50-120 Hz fundamental with a few decaying harmonics."""
    n = _n_samples(duration_s, sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(50.0, 120.0)
    x = np.zeros(n)
    for k in range(1, 5):
        x += rng.uniform(0.4, 1.0) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    return _peak_normalise(x * _envelope(n, sr), rng)


def clicking(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Train of short decaying broadband clicks, 4-20 per second, slightly jittered."""
    n = _n_samples(duration_s, sr)
    rate_hz = rng.uniform(4.0, 20.0)
    click_n = int(0.02 * sr)
    decay = np.exp(-np.arange(click_n) / (rng.uniform(0.002, 0.005) * sr))
    x = np.zeros(n)
    period_s = 1.0 / rate_hz
    t = rng.uniform(0.0, period_s)
    while t < duration_s:
        start = int(t * sr)
        stop = min(n, start + click_n)
        burst = rng.standard_normal(click_n) * decay
        burst *= rng.uniform(0.7, 1.0) / np.max(np.abs(burst))
        x[start:stop] += burst[: stop - start]
        t += period_s * rng.uniform(0.85, 1.15)
    # A click carries little energy for its peak, so clicks sit at the top of the peak range.
    return (x / (np.max(np.abs(x)) + 1e-12) * rng.uniform(0.7, 0.8)).astype(np.float32)


def hissing(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise band-limited to roughly 5-12 kHz."""
    n = _n_samples(duration_s, sr)
    x = _band_noise(n, sr, rng, rng.uniform(5000.0, 6000.0), rng.uniform(10000.0, 12000.0))
    return _peak_normalise(x * _envelope(n, sr), rng)


def rumbling(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise below about 300 Hz with a slow amplitude modulation."""
    n = _n_samples(duration_s, sr)
    t = np.arange(n) / sr
    x = _band_noise(n, sr, rng, 25.0, rng.uniform(200.0, 300.0))
    am_hz = rng.uniform(0.2, 1.5)
    am = 1.0 - rng.uniform(0.3, 0.6) * (
        0.5 + 0.5 * np.sin(2 * np.pi * am_hz * t + rng.uniform(0, 2 * np.pi))
    )
    return _peak_normalise(x * am * _envelope(n, sr), rng)


def silence(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Digital near-silence: zeros plus a tiny noise floor (about -80 dBFS)."""
    n = _n_samples(duration_s, sr)
    return (1e-4 * rng.standard_normal(n)).astype(np.float32)


CLASSES: dict[str, Callable[[float, int, np.random.Generator], np.ndarray]] = {
    "a whistle": whistle,
    "a siren": siren,
    "a low hum": low_hum,
    "clicking": clicking,
    "hissing": hissing,
    "rumbling": rumbling,
    "silence": silence,
}


def background_bed(
    duration_s: float, sr: int, rng: np.random.Generator, level: float = 0.02
) -> np.ndarray:
    """Quiet pinkish room noise (80 Hz - 16 kHz, 1/f power) at RMS ``level``."""
    n = _n_samples(duration_s, sr)

    def pink(freqs: np.ndarray) -> np.ndarray:
        band = (freqs >= 80.0) & (freqs <= 16000.0)
        return np.where(band, 1.0 / np.sqrt(np.maximum(freqs, 1.0)), 0.0)

    return (level * _shaped_noise(n, sr, rng, pink)).astype(np.float32)


def make_clip(
    caption: str,
    duration_s: float,
    sr: int,
    rng: np.random.Generator,
    bed_level: float | None = None,
    event_gain: float | None = None,
) -> np.ndarray:
    """One event of ``caption`` over the background bed; "silence" is the bed alone."""
    if caption not in CLASSES:
        raise KeyError(f"unknown synthetic class {caption!r}; known: {sorted(CLASSES)}")
    if bed_level is None:
        bed_level = float(rng.uniform(0.003, 0.02))
    if event_gain is None:
        event_gain = float(rng.uniform(0.3, 1.0))
    clip = background_bed(duration_s, sr, rng, level=bed_level).astype(np.float64)
    event = CLASSES[caption](duration_s, sr, rng)
    if caption != "silence":
        event = event * event_gain
    clip += event
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def make_vod(
    events: list[tuple[str, float, float]],
    duration_s: float,
    sr: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """A long track of background bed with each (caption, start_s, end_s) event placed on it."""
    track = background_bed(duration_s, sr, rng, level=float(rng.uniform(0.005, 0.015))).astype(
        np.float64
    )
    n = track.shape[0]
    for caption, start_s, end_s in events:
        if caption not in CLASSES:
            raise KeyError(f"unknown synthetic class {caption!r}; known: {sorted(CLASSES)}")
        if not 0.0 <= start_s < end_s <= duration_s:
            raise ValueError(
                f"event {caption!r} at {start_s}-{end_s} s is outside the {duration_s} s track"
            )
        if caption == "silence":
            continue  # the bed already is silence
        start = round(start_s * sr)
        stop = min(n, round(end_s * sr))
        event = CLASSES[caption]((stop - start) / sr, sr, rng)[: stop - start].astype(np.float64)
        event *= rng.uniform(0.5, 1.0)
        fade = min(int(FADE_S * sr), event.shape[0] // 2)
        if fade > 0:
            ramp = np.linspace(0.0, 1.0, fade)
            event[:fade] *= ramp
            event[-fade:] *= ramp[::-1]
        track[start : start + event.shape[0]] += event
    return np.clip(track, -1.0, 1.0).astype(np.float32)
