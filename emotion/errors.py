"""One family of errors a user can cause, each with a message that says what to do next.

The CLI prints ``str(error)`` and exits with ``error.exit_code``; the dashboard shows it
with ``st.error``. Neither shows a traceback for these.
"""

from __future__ import annotations


class HypelineError(Exception):
    """A failure the user can fix; the message is one sentence with the fix."""

    exit_code = 2


class ModelNotFoundError(HypelineError):
    """The CLAP weights are neither on disk nor downloadable."""


class ModelLoadError(HypelineError):
    """A folder or hub id was found but does not hold a usable CLAP checkpoint."""


class DeviceError(HypelineError):
    """The requested device or precision is not available here."""


class AudioError(HypelineError):
    """A file is missing, unreadable, has no audio, or ffmpeg failed on it."""


class LabelError(HypelineError):
    """The labels or prompts given cannot be scored (empty, blank, duplicated)."""


class DatasetError(HypelineError):
    """A labelled folder for evaluation is empty, laid out unknowably, or names missing files."""


class PackError(HypelineError):
    """A prompt pack file cannot be read (not a pack, damaged, or from a newer version)."""


class SourceError(HypelineError):
    """A VOD URL or path cannot be fetched or opened."""


class ExportError(HypelineError):
    """An export cannot be written (unknown format, unwritable folder, a clip ffmpeg cannot cut)."""


class BusyError(HypelineError):
    """Another process is analysing this VOD and the caller asked not to wait for it."""


class StoreError(HypelineError):
    """The stored vectors of an analysis do not match its record (damaged on disk)."""


class SearchError(HypelineError):
    """A search cannot run as asked (no analyses match, an unknown analysis, a bad time)."""


class Cancelled(HypelineError):
    """The user stopped a run; what was embedded is kept and the next run resumes."""

    exit_code = 130


class ChatError(HypelineError):
    """A chat replay file cannot be read (not chat, empty, damaged, or with impossible times)."""


class EngineError(HypelineError):
    """A batch engine cannot run as asked (Ray missing or unreachable, a node's work lost)."""


class ShortsError(ExportError):
    """A vertical short cannot be made as asked; ``setting`` names the setting to change."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting  # a ShortSettings field, so a face can name its own control


class ReelError(ShortsError):
    """A highlight reel cannot be made as asked; ``setting`` names the ReelSettings field."""
