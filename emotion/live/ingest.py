"""Live audio in: one ffmpeg per stream, supervised, as mono float32 PCM at the model's rate.

``Ingest`` follows a ``Target`` that ``emotion.live.target.check_target`` found
followable. ``Ingest.events()`` yields ``Pcm`` chunks as they arrive, ``Lost`` when a connection came
back after a failure (how long no audio came), and ``State`` changes. A read that stalls
(no PCM for ``STALL_S``) or an ffmpeg that exits is restarted with backoff (1, 2, 4 …
``MAX_BACKOFF_S``), re-resolving a page link through yt-dlp each time (stream URLs carry
tokens that expire). ffmpeg's own reconnect options do not keep an HLS read alive when
the server drops, so the supervisor owns retries. The stream has ended when an HLS
playlist carries its end list, yt-dlp no longer calls the channel live, or a local file
read in real time reaches its end; it is given up when no audio came for
``give_up_after_s`` although retried.

A link someone else gave (``guard``: the dashboard's shared mode, the API) is fetched in
Python under ``netguard.public_only`` and piped to ffmpeg (``emotion.live.hls``), so no
connection reaches the server's own network, whatever the name resolves to by then.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from emotion.errors import SourceError
from emotion.live import hls
from emotion.live.target import Target, fetch_playlist, is_playlist_url, ytdlp_info
from emotion.media.audio import BYTES_PER_SAMPLE, TIMELINE_FILTER, ffmpeg_exe
from emotion.media.netguard import Address, BlockedAddressError, public_only

STALL_S = 15.0  # no PCM for this long: the read is dead, start again
MAX_BACKOFF_S = 30.0
READ_BYTES = 64 * 1024  # at most ~0.34 s at 48 kHz per read: low latency, few wakeups
MAX_COALESCED_BYTES = 48_000 * 4 * 60  # a backlog is handed on a minute at a time at most
POLL_S = 0.25  # how often the supervisor looks at the clock while waiting for audio

# States a monitor is in, as the faces show them.
CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
ENDED = "ended"
GAVE_UP = "gave up"
STOPPED = "stopped"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Pcm:
    samples: np.ndarray
    received: float  # time.monotonic() when the chunk's last sample came in


@dataclass(frozen=True, slots=True)
class Lost:
    """Audio came back after a failure; ``seconds`` of wall clock passed without any."""

    seconds: float


@dataclass(frozen=True, slots=True)
class State:
    state: str
    message: str


Event = Pcm | Lost | State


class Ingest:
    """A supervised ffmpeg reading ``target`` (see the module's docstring)."""

    def __init__(
        self,
        target: Target,
        sampling_rate: int,
        give_up_after_s: float = 600.0,
        stop: threading.Event | None = None,
        stall_s: float = STALL_S,
        guard: Collection[Address] | None = None,
    ) -> None:
        """``guard``: fetch links in Python, refusing any address not public nor listed."""
        self.target = target
        self.guard = None if target.is_file else guard
        self.sampling_rate = sampling_rate
        self.give_up_after_s = give_up_after_s
        self.stop = stop or threading.Event()
        self.stall_s = stall_s
        self.restarts = 0

    def events(self) -> Iterator[Event]:
        attempt = 0
        last_audio: float | None = None  # monotonic time of the last chunk
        waiting_since = time.monotonic()
        yield State(CONNECTING, f"connecting to {self.target.title}")
        while not self.stop.is_set():
            failure = ""
            try:
                url = self._resolve()
            except SourceError as e:
                url, failure = None, str(e)
            if url is not None:
                got_audio = False
                outcome = "error"
                for item in self._read(url):
                    if isinstance(item, Pcm):
                        if not got_audio:
                            got_audio = True
                            if last_audio is not None:
                                yield Lost(item.received - last_audio)
                            yield State(CONNECTED, f"connected to {self.target.title}")
                            attempt = 0
                        last_audio = item.received
                        yield item
                    else:
                        outcome, failure = item
                if outcome == "stopped":
                    return
                if outcome == "blocked":
                    raise BlockedAddressError(failure)
                if outcome == "exit0" and self._ended():
                    yield State(ENDED, "the stream ended")
                    return
            quiet_since = last_audio if last_audio is not None else waiting_since
            if time.monotonic() - quiet_since >= self.give_up_after_s:
                yield State(
                    GAVE_UP, f"no audio for {self.give_up_after_s:g} s although retried; gave up"
                )
                return
            delay = min(MAX_BACKOFF_S, 2.0**attempt)
            attempt += 1
            self.restarts += 1
            why = f" ({failure})" if failure else ""
            yield State(RECONNECTING, f"reconnecting in {delay:g} s{why}")
            if self.stop.wait(delay):
                return

    def _guarded(self) -> contextlib.AbstractContextManager[None]:
        return public_only(self.guard) if self.guard is not None else contextlib.nullcontext()

    def _resolve(self) -> str:
        if self.target.kind != "page":
            return self.target.spec
        with self._guarded():
            info = ytdlp_info(self.target.spec)
        url = info.get("url")
        if not url:
            formats = [f for f in info.get("formats") or [] if f.get("url")]
            audio = [f for f in formats if f.get("vcodec") == "none"] or formats
            url = audio[-1]["url"] if audio else None
        if not url:
            raise SourceError(f"No live audio found at {self.target.spec}.")
        return str(url)

    def _ended(self) -> bool:
        """After ffmpeg finished cleanly: did the stream end, or did the connection drop?"""
        if self.target.kind == "hls":
            try:
                with self._guarded():
                    return "#EXT-X-ENDLIST" in fetch_playlist(self.target.spec)
            except SourceError:
                return False
        if self.target.kind == "page":
            try:
                with self._guarded():
                    info = ytdlp_info(self.target.spec)
            except SourceError:
                return False
            return not (info.get("is_live") or info.get("live_status") == "is_live")
        return True

    def _command(self, url: str) -> list[str]:
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error"]
        if self.target.is_file:
            cmd += ["-re", "-i", f"file:{url}"]
        elif self.guard is not None:
            cmd += ["-i", "pipe:0"]  # fed by hls.feed (see the module's docstring)
        else:
            # rw_timeout ends a read the server no longer answers (µs); the supervisor
            # restarts it. The same resampler options as a VOD's decode (emotion.media.audio).
            cmd += ["-rw_timeout", str(int(self.stall_s * 1e6))]
            if is_playlist_url(url):
                # Start at the newest segment (ffmpeg's default is 3 back): alerts come
                # sooner, and after a reconnect the audio we missed is not replayed late.
                cmd += ["-live_start_index", "-1"]
            cmd += ["-i", url]
        cmd += ["-vn", "-sn", "-dn", "-map", "0:a:0", "-af", TIMELINE_FILTER]
        cmd += ["-ac", "1", "-ar", str(self.sampling_rate), "-acodec", "pcm_f32le"]
        return [*cmd, "-flush_packets", "1", "-f", "f32le", "pipe:1"]

    def _read(self, url: str) -> Iterator[Pcm | tuple[str, str]]:
        """PCM chunks of one ffmpeg run, then ``(outcome, why)``: exit0 | error | stall | stopped."""
        proc = subprocess.Popen(
            self._command(url),
            stdin=subprocess.PIPE if self.guard is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        assert proc.stdout is not None and proc.stderr is not None
        feeding = threading.Event()  # set: the feeder stops
        fed: list[SourceError] = []  # the feeder's failure, if any
        feeder = None
        if self.guard is not None:
            feeder = threading.Thread(
                target=self._feed,
                args=(url, proc.stdin, feeding, fed),
                daemon=True,
                name="hypeline-live-fetch",
            )
            feeder.start()
        stderr_tail: deque[bytes] = deque(maxlen=10)
        drain = threading.Thread(target=stderr_tail.extend, args=(proc.stderr,), daemon=True)
        drain.start()
        chunks: queue.Queue[tuple[bytes, float]] = queue.Queue()  # (data, when it was read)
        reader = threading.Thread(
            target=_pump, args=(proc.stdout, chunks), daemon=True, name="hypeline-live-read"
        )
        reader.start()
        leftover = b""
        last = time.monotonic()
        outcome = "error"
        try:
            while True:
                if self.stop.is_set():
                    outcome = "stopped"
                    break
                try:
                    data, now = chunks.get(timeout=POLL_S)
                except queue.Empty:
                    if time.monotonic() - last >= self.stall_s:
                        outcome = "stall"
                        break
                    continue
                eof = not data
                # Whatever else has arrived meanwhile (the monitor was busy) comes as one
                # chunk, so a backlog becomes windows embedded in one batch.
                parts, size = [data], len(data)
                while not eof and size < MAX_COALESCED_BYTES:
                    try:
                        more, now = chunks.get_nowait()
                    except queue.Empty:
                        break
                    eof = not more
                    parts.append(more)
                    size += len(more)
                data = b"".join(parts)
                if data:
                    last = now
                    data = leftover + data
                    usable = len(data) - len(data) % BYTES_PER_SAMPLE
                    leftover = data[usable:]
                    samples = np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)
                    samples[~np.isfinite(samples)] = 0.0
                    if samples.size:
                        yield Pcm(samples, now)
                if eof:
                    outcome = "exit0" if proc.wait() == 0 else "error"
                    break
        finally:
            feeding.set()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            drain.join(timeout=2)
            reader.join(timeout=2)
            if feeder is not None:
                feeder.join(timeout=hls.TIMEOUT_S + 2)
        if fed and outcome != "stopped":  # what went wrong is the fetch, not ffmpeg's EOF
            blocked = isinstance(fed[0], BlockedAddressError)
            yield ("blocked" if blocked else "error", str(fed[0]))
            return
        tail = b"".join(stderr_tail).decode("utf-8", "replace").strip().splitlines()
        why = {"stall": f"no audio for {self.stall_s:g} s", "exit0": "the connection ended"}.get(
            outcome, tail[-1].strip() if tail else f"ffmpeg exited with {proc.returncode}"
        )
        yield (outcome, why)

    def _feed(self, url: str, pipe: Any, stop: threading.Event, fed: list[SourceError]) -> None:
        try:
            hls.feed(url, pipe, stop, self.guard or ())
        except SourceError as e:
            fed.append(e)
        except OSError as e:
            fed.append(SourceError(f"The stream's connection failed ({e})."))
        finally:
            with contextlib.suppress(OSError):
                pipe.close()


def _pump(stream: Any, chunks: queue.Queue[tuple[bytes, float]]) -> None:
    with contextlib.suppress(OSError, ValueError):
        while data := os.read(stream.fileno(), READ_BYTES):
            chunks.put((data, time.monotonic()))
    chunks.put((b"", time.monotonic()))
