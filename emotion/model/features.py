"""CLAP log-mel features for a whole batch, in torch, on the model's device.

This reproduces ``transformers.ClapFeatureExtractor`` (which loops over frames in numpy
and is the CPU bottleneck) with one batched STFT. Every parameter comes from the
checkpoint's own extractor: rate, FFT size, hop, the filter bank each truncation mode
uses, padding mode and max length.

Two things differ on purpose, both for determinism:

* ``is_longer`` is False for every clip that fits in ``max_length_s`` (transformers marks
  one random clip of each such batch as longer, so an embedding would depend on its
  neighbours). This is what LAION's own inference does.
* Clips longer than ``max_length_s`` never use a random crop:
  - ``truncation="fusion"``: the three local crops are taken at the middle of the front,
    middle and back thirds of the possible offsets (transformers draws them at random),
    next to the whole mel shrunk to the crop length, with ``is_longer=True``.
  - ``truncation="rand_trunc"``: the clip is cut into consecutive ``max_length_s`` pieces
    (the last one padded like a short clip); the model averages their embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import ClapFeatureExtractor

MEL_FLOOR = 1e-10  # transformers' spectrogram(mel_floor=...) and power_to_db(min_value=...)


@dataclass(frozen=True)
class MelBatch:
    """Model inputs for a batch of clips.

    ``features`` has one row per model input ``(rows, channels, frames, mel_bins)``;
    ``owner[i]`` is the clip that row ``i`` belongs to (several rows per clip only for
    long clips of non-fusion checkpoints, whose embeddings are averaged).
    """

    features: torch.Tensor
    is_longer: torch.Tensor
    owner: torch.Tensor
    n_clips: int


class LogMel:
    """The checkpoint's log-mel front end, computed with torch on ``device``."""

    def __init__(
        self,
        extractor: ClapFeatureExtractor,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float64,
    ):
        self.sampling_rate = int(extractor.sampling_rate)
        self.n_fft = int(extractor.fft_window_size)
        self.hop_length = int(extractor.hop_length)
        self.max_samples = int(extractor.nb_max_samples)
        self.truncation = str(extractor.truncation)
        self.padding = str(extractor.padding)
        if self.truncation not in ("fusion", "rand_trunc"):
            raise ValueError(f"unsupported truncation mode {self.truncation!r}")
        self.fusion = self.truncation == "fusion"
        # The fusion checkpoints use the HTK bank; the others the Slaney one (as transformers).
        bank = extractor.mel_filters if self.fusion else extractor.mel_filters_slaney
        self.device = torch.device(device)
        # float64 like transformers' numpy path: the parity we promise is 1e-3 dB, and
        # float32 STFTs lose that in quiet bands. The STFT is a small share of the cost in
        # fp32; the int8 path (where it would be a fifth) and MPS (no float64) pass float32.
        self._dtype = dtype
        self._filters = torch.as_tensor(np.asarray(bank), dtype=self._dtype, device=self.device)
        self._window = torch.hann_window(
            self.n_fft, periodic=True, dtype=self._dtype, device=self.device
        )
        self.chunk_frames = self.max_samples // self.hop_length + 1
        self.n_mels = self._filters.shape[1]

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` → ``(batch, frames, mel_bins)`` in dB, float32."""
        x = waveforms.to(self.device, self._dtype)
        pad = self.n_fft // 2
        x = torch.nn.functional.pad(x[:, None, :], (pad, pad), mode="reflect")[:, 0, :]
        spec = torch.stft(
            x,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self._window,
            center=False,
            return_complex=True,
        ).transpose(1, 2)  # (batch, frames, freq), contiguous
        # |X|² through the norm of (re, im): one pass, 3x faster than re² + im² here.
        power = torch.linalg.vector_norm(torch.view_as_real(spec), dim=-1).square_()
        mel = torch.matmul(power, self._filters)  # (batch, frames, mels)
        return (10.0 * torch.log10(mel.clamp_min(MEL_FLOOR))).float()

    def pad(self, waveform: np.ndarray) -> np.ndarray:
        """Pad a clip shorter than ``max_length_s`` the way the checkpoint was trained."""
        n = waveform.shape[0]
        if n >= self.max_samples:
            return waveform[: self.max_samples]
        if n == 0:
            return np.zeros(self.max_samples, dtype=np.float32)
        if self.padding == "repeat":
            waveform = np.tile(waveform, self.max_samples // n + 1)[: self.max_samples]
        elif self.padding == "repeatpad":
            waveform = np.tile(waveform, self.max_samples // n)
        return np.pad(waveform, (0, self.max_samples - waveform.shape[0]))

    def __call__(self, waveforms: Sequence[np.ndarray]) -> MelBatch:
        """Features for clips of any length (mono float32 at ``sampling_rate``)."""
        short_rows: list[np.ndarray] = []  # padded clips of exactly max_samples
        short_owner: list[int] = []
        long_clips: list[tuple[int, np.ndarray]] = []
        for i, w in enumerate(waveforms):
            w = np.asarray(w, dtype=np.float32)
            if w.shape[0] <= self.max_samples:
                short_rows.append(self.pad(w))
                short_owner.append(i)
            elif self.fusion:
                long_clips.append((i, w))
            else:
                for start in range(0, w.shape[0], self.max_samples):
                    short_rows.append(self.pad(w[start : start + self.max_samples]))
                    short_owner.append(i)

        rows: list[torch.Tensor] = []
        longer: list[bool] = []
        owner: list[int] = list(short_owner)
        if short_rows:
            mel = self.log_mel(torch.from_numpy(np.stack(short_rows)))
            rows.extend(mel[:, None])  # one channel each
            longer.extend([False] * len(short_rows))
        for i, w in long_clips:
            fused, is_longer = self._fuse(self.log_mel(torch.from_numpy(w)[None])[0])
            rows.append(fused)
            longer.append(is_longer)
            owner.append(i)

        # With no fused clip the model reads channel 0 only, so one channel is enough.
        channels = 4 if any(longer) else 1
        features = torch.stack(
            [r if r.shape[0] == channels else r[:1].expand(channels, -1, -1) for r in rows]
        )
        return MelBatch(
            features=features,
            is_longer=torch.tensor(longer, device=self.device)[:, None],
            owner=torch.tensor(owner, device=self.device),
            n_clips=len(waveforms),
        )

    def _fuse(self, mel: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """Deterministic version of ``ClapFeatureExtractor._random_mel_fusion``."""
        total_frames = mel.shape[0]
        if total_frames == self.chunk_frames:  # longer by less than one hop: use it whole
            return mel[None].expand(4, -1, -1), False
        ranges = np.array_split(np.arange(total_frames - self.chunk_frames + 1), 3)
        starts = [int(r[len(r) // 2]) if len(r) else 0 for r in ranges]
        crops = [mel[s : s + self.chunk_frames] for s in starts]
        shrunk = torch.nn.functional.interpolate(
            mel[None, None],
            size=[self.chunk_frames, self.n_mels],
            mode="bilinear",
            align_corners=False,
        )[0, 0]
        return torch.stack([shrunk, *crops]), True
