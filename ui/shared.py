"""Shared mode: the dashboard on a server for a team, switched on in ``.streamlit/secrets.toml``.

    [hypeline]
    shared = true                    # the switch
    media_folders = ["/srv/vods"]    # typed paths open only inside these; none: no path box
    max_upload_mb = 1024             # per upload (default 1024 in shared mode)
    disk_budget_gb = 50              # downloads, uploads, previews, clips (default 50)
    password = "a long passphrase"   # sign-in, unless an [auth] table sets up st.login

Read on every run (Streamlit reloads secrets.toml when it changes). A mistake in the table
stops every page with one sentence: a server meant to be shared must not come up open.
Without the table, or with ``shared = false``, the dashboard is one person's tool on their
own computer, and says so loudly when other computers can reach it (``exposure``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from emotion.errors import HypelineError
from emotion.media.source import SourcePolicy

log = logging.getLogger(__name__)

SECTION = "hypeline"
SHARED_MAX_UPLOAD_MB = 1024
SHARED_DISK_BUDGET_GB = 50.0
MIN_PASSWORD_CHARS = 8
MB = 1024 * 1024  # Streamlit's megabyte (server.maxUploadSize)
GB = 1000**3
KEYS = ("shared", "media_folders", "max_upload_mb", "disk_budget_gb", "password")
HOW = "README: Running it for a team"
_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-Ip")  # set by a reverse proxy


@dataclass(frozen=True)
class Config:
    """The ``[hypeline]`` table, checked, with shared mode's defaults filled in."""

    shared: bool = False
    media_folders: tuple[Path, ...] = ()
    max_upload_mb: int | None = None  # None: Streamlit's server.maxUploadSize alone
    disk_budget_gb: float | None = None  # None: no budget
    password: str | None = field(default=None, repr=False)
    oidc: bool = False  # an [auth] table: sign-in through Streamlit's st.login

    @property
    def signs_in(self) -> bool:
        return self.oidc or self.password is not None


def parse(table: Any, oidc: bool = False) -> Config:
    """``[hypeline]`` from secrets.toml → ``Config``; a bad value is one sentence with its fix."""
    if not isinstance(table, Mapping):
        raise HypelineError(
            f"[{SECTION}] in secrets.toml must be a table of settings; see the {HOW}."
        )
    if unknown := sorted(set(table) - set(KEYS)):
        raise HypelineError(
            f"secrets.toml has an unknown setting {SECTION}.{unknown[0]}; the settings are "
            f"{', '.join(KEYS)} (see the {HOW})."
        )
    shared = table.get("shared", False)
    if not isinstance(shared, bool):
        raise HypelineError(f"Set {SECTION}.shared in secrets.toml to true or false.")
    folders = table.get("media_folders", [])
    folders = [folders] if isinstance(folders, str) else folders
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise HypelineError(
            f'Set {SECTION}.media_folders in secrets.toml to a list of folders, e.g. ["/srv/vods"].'
        )
    media_folders = tuple(Path(f).expanduser() for f in folders)
    for folder in media_folders:
        if not folder.is_absolute() or not folder.is_dir():
            raise HypelineError(
                f"The media folder {folder} ({SECTION}.media_folders in secrets.toml) is not a "
                "folder on this server; give its full path, or create it."
            )
    upload_mb = table.get("max_upload_mb", SHARED_MAX_UPLOAD_MB if shared else None)
    if upload_mb is not None and (not _number(upload_mb, int) or upload_mb < 1):
        raise HypelineError(
            f"Set {SECTION}.max_upload_mb in secrets.toml to a whole number of megabytes, e.g. 1024."
        )
    budget_gb = table.get("disk_budget_gb", SHARED_DISK_BUDGET_GB if shared else None)
    if budget_gb is not None and (not _number(budget_gb, int | float) or budget_gb <= 0):
        raise HypelineError(
            f"Set {SECTION}.disk_budget_gb in secrets.toml to a number of gigabytes, e.g. 50."
        )
    password = table.get("password")
    if password is not None and (
        not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS
    ):
        raise HypelineError(
            f"Set {SECTION}.password in secrets.toml to a text of at least "
            f"{MIN_PASSWORD_CHARS} characters (a passphrase is best)."
        )
    return Config(
        shared=shared,
        media_folders=media_folders,
        max_upload_mb=upload_mb,
        disk_budget_gb=None if budget_gb is None else float(budget_gb),
        password=password,
        oidc=oidc,
    )


def config() -> Config:
    """This server's ``Config``, from secrets.toml (a default ``Config`` when there is none)."""
    if not st.secrets.load_if_toml_exists():
        if broken := [p for p in st.get_option("secrets.files") if Path(p).is_file()]:
            # Streamlit treats an unreadable secrets.toml as none at all; shared mode
            # must not quietly turn off because of a typo.
            raise HypelineError(
                f"{broken[0]} cannot be read (not valid TOML); fix it, the server's log "
                "says where, then reload this page."
            )
        return Config()
    secrets = st.secrets.to_dict()
    config = parse(secrets.get(SECTION, {}), oidc="auth" in secrets)
    server_mb = int(st.get_option("server.maxUploadSize"))
    if config.max_upload_mb is not None and server_mb > config.max_upload_mb:
        _warn_once(
            f"server.maxUploadSize is {server_mb} MB: Streamlit holds that much of a request "
            f"in memory before the page refuses uploads over {config.max_upload_mb} MB; set "
            "it to the same value in .streamlit/config.toml."
        )
    return config


def policy(config: Config) -> SourcePolicy | None:
    """What visitors may open in shared mode; None (anything) for a one-person dashboard."""
    return SourcePolicy(media_folders=config.media_folders) if config.shared else None


def upload_cap_mb(config: Config) -> int:
    """The largest upload in megabytes: the table's cap within Streamlit's own."""
    server_mb = int(st.get_option("server.maxUploadSize"))
    return min(config.max_upload_mb or server_mb, server_mb)


def disk_budget_bytes(config: Config) -> int | None:
    return None if config.disk_budget_gb is None else int(config.disk_budget_gb * GB)


def exposure(config: Config) -> str | None:
    """A warning for every page when this dashboard is open to more than it should be."""
    if not config.shared and (where := _reachable_at()) is not None:
        return (
            f"This dashboard {where}, and shared mode is off: anyone who opens it can analyse "
            "and play any media file on this server by its path, make the server fetch "
            "addresses on its own network, and fill its memory and disk. Turn shared mode "
            f"on: add `shared = true` and a `password` under `[{SECTION}]` in "
            f"`.streamlit/secrets.toml` ({HOW})."
        )
    if config.shared and not config.signs_in:
        return (
            "Shared mode is on but nobody signs in: anyone who reaches this page can use it "
            f"and see the team's library. Set `password` under `[{SECTION}]` in "
            f"`.streamlit/secrets.toml`, or an `[auth]` provider ({HOW})."
        )
    return None


def _reachable_at() -> str | None:
    """How other computers reach this server ("listens on 0.0.0.0"), or None if they cannot."""
    headers = st.context.headers
    if any(headers.get(h) for h in _FORWARDED):
        return "is reached through a proxy"
    address = str(st.get_option("server.address") or "")
    if address.startswith("unix://"):
        return None  # a socket file: only through a proxy, which the headers tell
    if not address:
        return "listens on every network interface (Streamlit's default address)"
    return None if _loopback(address) else f"listens on {address}"


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        pass
    try:  # a host name: loopback only if every address it names is
        infos = socket.getaddrinfo(address, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def _number(value: Any, kind: Any) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)
