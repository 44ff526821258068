"""emotion.media.ytdlp_errors: what yt-dlp raises becomes one sentence that says what to do."""

from __future__ import annotations

from yt_dlp.utils import DownloadError, ExtractorError

from emotion.media import ytdlp_errors
from tests.test_sources import assert_one_sentence


def test_site_errors_become_one_sentence() -> None:
    def wrapped(msg: str) -> DownloadError:
        cause = ExtractorError(msg, expected=True)
        return DownloadError(f"ERROR: [youtube] abc123: {msg}", (type(cause), cause, None))

    url = "https://www.youtube.com/watch?v=abc123"
    private = ytdlp_errors.explain(
        wrapped("Private video. Sign in if you've been granted access"), url
    )
    assert "is private, removed or not available" in assert_one_sentence(private)
    odd = ytdlp_errors.explain(wrapped("Something new broke\nwith details"), url)
    assert assert_one_sentence(odd) == (
        f"Could not get the video at {url} (Something new broke); check the link, "
        "or update yt-dlp with `pip install -U yt-dlp`."
    )
