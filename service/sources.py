"""Sources named by clients: http(s) links to public hosts, or paths under --media-root.

``emotion.media.source.SourcePolicy`` holds the rules (SSRF guard, media folders); this module
only adds the server's ``--allow-private-urls`` switch, which lets links reach private
addresses (a NAS on the LAN) while paths stay confined to the media folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from emotion.chat.formats import detect_format
from emotion.errors import ChatError, SourceError
from emotion.media.media_roots import resolve_under
from emotion.media.netguard import check_public_url
from emotion.media.source import Source, SourcePolicy
from emotion.media.sources import open_source
from service.errors import without_folders


@dataclass(frozen=True)
class ClientSources:
    media_roots: tuple[Path, ...] = ()
    allow_private_urls: bool = False

    @property
    def policy(self) -> SourcePolicy:
        return SourcePolicy(media_folders=self.media_roots)

    def check(self, spec: str) -> None:
        """Refuse what would be refused when opened, before the job is queued."""
        try:
            self._check(spec)
        except SourceError as e:  # the refusal goes to a client: no server folders in it
            raise SourceError(without_folders(str(e), self.media_roots)) from None

    def _check(self, spec: str) -> None:
        text = spec.strip()
        if not text:
            raise SourceError("The source is empty; give an http(s) link or a path.")
        if _is_link(text):
            scheme = urlsplit(text).scheme.lower()
            if scheme not in ("http", "https"):
                raise SourceError(
                    f"Only http(s) links are supported, not {scheme}: links; upload the file "
                    "or give a path under the server's media folder."
                )
            if not self.allow_private_urls:
                check_public_url(text)
            return
        path = resolve_under(text, self.media_roots)
        if not path.is_file():
            raise SourceError(
                f"{Path(text).name} is not a file in the media folder; check the path."
            )

    def chat_file(self, spec: str) -> Path:
        """The real path of a chat replay file a client named, once its first bytes are chat:
        like a source's path, only inside the media folders (links are not fetched for chat)."""
        text = spec.strip()
        try:
            if _is_link(text):
                raise SourceError(
                    "A chat replay is read from a file; put it in the server's media folder "
                    "and give its path there."
                )
            path = resolve_under(text, self.media_roots)
            if not path.is_file():
                raise SourceError(
                    f"{Path(text).name} is not a file in the media folder; check the chat's path."
                )
            detect_format(path)
        except (SourceError, ChatError) as e:  # no server folders in what a client reads
            raise type(e)(without_folders(str(e), self.media_roots)) from None
        return path

    def resolve(self, spec: str) -> str:
        """What the server itself opens for ``spec``: the link as given, or the real path of a
        file under the media folders (checked as ``check`` does)."""
        self.check(spec)
        text = spec.strip()
        return text if _is_link(text) else str(resolve_under(text, self.media_roots))

    def open(self, spec: str) -> Source:
        self.check(spec)
        if _is_link(spec.strip()) and self.allow_private_urls:
            return open_source(spec)  # the scheme was checked; any address is allowed
        return open_source(spec, policy=self.policy)


def _is_link(text: str) -> bool:
    scheme = urlsplit(text).scheme
    return len(scheme) > 1  # "C:\x" is a Windows path
