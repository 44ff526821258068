"""The shared model thread: its wait chosen by device, and batching that never changes a number."""

from __future__ import annotations

import threading

import numpy as np

from emotion.model.batcher import CPU_WAIT_S, GPU_WAIT_S, Batcher, wait_for
from service.config import ServeConfig


def test_the_wait_for_company_is_the_devices():
    assert wait_for("cpu") == CPU_WAIT_S == 0.0
    assert wait_for("cuda") == wait_for("mps") == GPU_WAIT_S == 0.005
    assert ServeConfig().batch_wait_s is None  # the server takes the device's


def test_a_cpu_batcher_takes_what_queued_during_a_pass_and_the_numbers_stay(clap):
    batcher = Batcher(clap)
    assert batcher.wait_s == 0.0  # the fixture model runs on the CPU
    rng = np.random.default_rng(7)
    waves = [rng.uniform(-0.5, 0.5, clap.sampling_rate * 2).astype(np.float32) for _ in range(6)]
    alone = np.stack([clap.embed_audio([w])[0] for w in waves])
    # Hold the model's thread in a text pass while all six clips queue up behind it.
    entered, gate = threading.Event(), threading.Event()
    text = clap.embed_text

    def held(prompts):
        entered.set()
        gate.wait(10)
        return text(prompts)

    clap.embed_text = held
    try:
        blocked = threading.Thread(target=batcher.embed_text, args=(["a held prompt"],))
        blocked.start()
        assert entered.wait(10)
        futures = [batcher.submit(w) for w in waves]
        gate.set()
        blocked.join(10)
        together = np.stack([f.result(timeout=30) for f in futures])
    finally:
        del clap.embed_text
        batcher.close()
    assert (batcher.batches, batcher.clips) == (1, 6)  # one pass, no wait needed
    np.testing.assert_allclose(together, alone, atol=2e-6)
