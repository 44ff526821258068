"""An analysis's chat replay in the library: parsed once, stored, read back without the file.

``read_file`` parses a chat file onto an analysis's window grid and refuses one that cannot
belong to the VOD; ``attach`` stores it (replacing any chat the analysis had, in one
statement); ``load`` gives it back for re-scoring, analytics and search, which never parse
the file again. What is stored is ``chat_reactions``'s result, as zlib-compressed JSON: a
4-hour VOD's is a few hundred KB, decoded in milliseconds.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotion.chat.formats import detect_format, read_chat
from emotion.chat.reactions import (
    DEFAULT_KEYWORDS,
    SERIES_BIN_S,
    ChatReactions,
    ChatSeries,
    WindowReactions,
    chat_reactions,
)
from emotion.clock import clock
from emotion.errors import ChatError, StoreError
from emotion.library.store import Store
from emotion.progress import ProgressFn

ENCODING_VERSION = 1


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat replay as an analysis holds it: which format it came in, and how it reacted."""

    format: str
    reactions: ChatReactions

    @property
    def n_messages(self) -> int:
        return self.reactions.n_messages


def read_file(
    path: Path,
    window_s: float,
    hop_s: float,
    duration_s: float | None,
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    progress: ProgressFn | None = None,
) -> Chat:
    """The chat in ``path`` on the grid of an analysis of a VOD ``duration_s`` long (None:
    not known yet), streamed; a ``ChatError`` for a file without messages or whose every
    message lies past the VOD's end (another VOD's chat)."""
    fmt = detect_format(path)
    messages = read_chat(path, fmt, progress=progress)
    reactions = chat_reactions(messages, window_s, hop_s, duration_s, keywords, SERIES_BIN_S)
    if not reactions.n_messages:
        raise ChatError(f"{path.name} holds no chat messages; download the chat again.")
    if reactions.beyond == reactions.n_messages:
        raise ChatError(
            f"Every one of the {reactions.n_messages:,} messages in {path.name} comes after the "
            f"VOD ends ({clock(duration_s or 0)}): it is another VOD's chat; give this VOD's."
        )
    return Chat(fmt, reactions)


def beyond_note(chat: Chat) -> str | None:
    """A note when some of the chat's messages come after the VOD's end (left out)."""
    beyond = chat.reactions.beyond
    if not beyond:
        return None
    return (
        f"{beyond:,} of the chat's {chat.n_messages:,} messages come after the VOD's end; "
        "they are left out."
    )


def attach(store: Store, analysis_id: int, chat: Chat) -> None:
    """Store ``chat`` as the analysis's chat, replacing the one it had."""
    store.set_chat(analysis_id, chat.format, chat.n_messages, encode(chat.reactions))


def load(store: Store, analysis_id: int) -> Chat | None:
    """The analysis's stored chat, or None when it has none."""
    record = store.chat(analysis_id)
    if record is None:
        return None
    return Chat(record.format, decode(record.data))


def encode(reactions: ChatReactions) -> bytes:
    """``reactions`` as the bytes the library stores."""
    w, s = reactions.windows, reactions.series
    doc = {
        "version": ENCODING_VERSION,
        "n_messages": reactions.n_messages,
        "beyond": reactions.beyond,
        "windows": {
            "window_s": w.window_s,
            "hop_s": w.hop_s,
            "messages": w.messages.tolist(),
            "chatters": w.chatters.tolist(),
            "emotes": w.emotes.tolist(),
            "keywords": list(w.keywords),
            "keyword_counts": w.keyword_counts.tolist(),
            "top": [list(t) for t in w.top],
        },
        "series": {
            "bin_s": s.bin_s,
            "messages": s.messages.tolist(),
            "chatters": s.chatters.tolist(),
            "tokens": [dict(t) for t in s.tokens],
            "baseline": s.baseline,
        },
    }
    return zlib.compress(json.dumps(doc, ensure_ascii=False).encode("utf-8"), 6)


def decode(data: bytes) -> ChatReactions:
    """The reactions ``encode`` stored; a ``StoreError`` for bytes it did not write."""
    try:
        doc: dict[str, Any] = json.loads(zlib.decompress(data))
        if doc.get("version") != ENCODING_VERSION:
            raise ValueError(f"version {doc.get('version')!r}")
        w, s = doc["windows"], doc["series"]
        n_keywords = len(w["keywords"])
        counts = np.array(w["keyword_counts"], dtype=np.int32).reshape(-1, n_keywords)
        return ChatReactions(
            windows=WindowReactions(
                window_s=float(w["window_s"]),
                hop_s=float(w["hop_s"]),
                messages=np.array(w["messages"], dtype=np.int32),
                chatters=np.array(w["chatters"], dtype=np.int32),
                emotes=np.array(w["emotes"], dtype=np.int32),
                keywords=tuple(w["keywords"]),
                keyword_counts=counts,
                top=tuple(tuple(t) for t in w["top"]),
            ),
            series=ChatSeries(
                bin_s=float(s["bin_s"]),
                messages=np.array(s["messages"], dtype=np.int32),
                chatters=np.array(s["chatters"], dtype=np.int32),
                tokens=tuple(s["tokens"]),
                baseline=float(s["baseline"]),
            ),
            n_messages=int(doc["n_messages"]),
            beyond=int(doc["beyond"]),
        )
    except (zlib.error, ValueError, KeyError, TypeError) as e:
        raise StoreError(
            f"The stored chat of this analysis cannot be read ({e}); attach the chat file again."
        ) from None
