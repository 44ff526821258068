"""An analysis's chat replay in the library: parsed once, stored, read back without the file.

``read_file`` parses a chat file onto an analysis's window grid and refuses one that cannot
belong to the VOD; ``attach`` stores it (replacing any chat the analysis had, in one
statement); ``load`` gives it back for re-scoring, analytics and search, which never parse
the file again. What is stored is ``chat_reactions``'s result with its token counts (version 2:
a compressed ``.npz`` of int32 arrays and a JSON header), so ``load`` counts any keyword
list by lookup (``reactions.count_keywords``); a 4-hour VOD's is some hundreds of KB, decoded
in milliseconds. Version 1 (zlib-compressed JSON of the default keywords' counts, written
before keywords could change) still loads, with the keywords it was counted with.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion.chat.cells import CellCounts, TokenCounts
from emotion.chat.formats import detect_format, read_chat
from emotion.chat.reactions import ChatReactions, WindowReactions, chat_reactions, count_keywords
from emotion.chat.series import SERIES_BIN_S, ChatSeries
from emotion.clock import clock
from emotion.errors import ChatError, StoreError
from emotion.library.store import Store
from emotion.progress import ProgressFn
from emotion.scoring.keywords import DEFAULT_KEYWORDS

ENCODING_VERSION = 2
_ZIP_MAGIC = b"PK"  # version 2 is a zip (.npz); version 1 a zlib stream


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat replay as an analysis holds it: which format it came in, and how it reacted."""

    format: str
    reactions: ChatReactions
    notes: tuple[str, ...] = field(default=(), compare=False)  # from counting the keywords

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


def load(store: Store, analysis_id: int, keywords: Sequence[str] = DEFAULT_KEYWORDS) -> Chat | None:
    """The analysis's stored chat with ``keywords`` counted, or None when it has none; its
    ``notes`` say which keywords chat did not use, or that an old chat keeps the defaults."""
    record = store.chat(analysis_id)
    if record is None:
        return None
    reactions, notes = count_keywords(decode(record.data), keywords)
    return Chat(record.format, reactions, tuple(notes))


def encode(reactions: ChatReactions) -> bytes:
    """``reactions`` (with their token counts) as the bytes the library stores."""
    counted = reactions.tokens
    if counted is None:
        raise StoreError("This chat has no token counts to store; attach its chat file again.")
    w, s = reactions.windows, reactions.series
    header = {
        "version": ENCODING_VERSION,
        "n_messages": reactions.n_messages,
        "beyond": reactions.beyond,
        "window_s": w.window_s,
        "hop_s": w.hop_s,
        "bin_s": s.bin_s,
        "baseline": s.baseline,
        "vocabulary": list(counted.vocabulary),
        "emotes": sorted(counted.emotes),
        "min_cell_messages": counted.min_cell_messages,
    }
    arrays = {
        "header": np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
        "window_messages": w.messages,
        "window_chatters": w.chatters,
        "window_emotes": w.emotes,
        "bin_messages": s.messages,
        "bin_chatters": s.chatters,
    }
    for name, cells in (("window", counted.windows), ("bin", counted.bins)):
        arrays[f"{name}_indptr"] = cells.indptr.astype("<i8")
        arrays[f"{name}_cells"] = cells.cells.astype("<i4")
        arrays[f"{name}_counts"] = cells.counts.astype("<i4")
    out = io.BytesIO()
    np.savez_compressed(out, allow_pickle=False, **arrays)
    return out.getvalue()


def decode(data: bytes) -> ChatReactions:
    """The reactions ``encode`` stored (either version); a ``StoreError`` for bytes it did
    not write."""
    try:
        if data[:2] == _ZIP_MAGIC:
            return _decode_v2(data)
        return _decode_v1(data)
    except (zlib.error, zipfile.BadZipFile, ValueError, KeyError, TypeError, IndexError) as e:
        raise StoreError(
            f"The stored chat of this analysis cannot be read ({e}); attach the chat file again."
        ) from None


def _decode_v2(data: bytes) -> ChatReactions:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        a = {name: z[name] for name in z.files}
    h: dict[str, Any] = json.loads(a["header"].tobytes().decode("utf-8"))
    if h.get("version") != 2:
        raise ValueError(f"version {h.get('version')!r}")
    vocabulary = tuple(str(t) for t in h["vocabulary"])
    n_windows, n_bins = len(a["window_messages"]), len(a["bin_messages"])

    def cells(name: str, n_cells: int) -> CellCounts:
        indptr = a[f"{name}_indptr"].astype(np.int64)
        cells, counts = a[f"{name}_cells"].astype(np.int32), a[f"{name}_counts"]
        if len(indptr) != len(vocabulary) + 1 or not len(cells) == len(counts) == indptr[-1]:
            raise ValueError(f"{name} counts of the wrong size")
        if cells.size and (cells.min() < 0 or cells.max() >= n_cells):
            raise ValueError(f"{name} cells out of range")
        return CellCounts(n_cells, indptr, cells, counts.astype(np.int32))

    counted = TokenCounts(
        vocabulary=vocabulary,
        emotes=frozenset(str(t) for t in h["emotes"]),
        windows=cells("window", n_windows),
        bins=cells("bin", n_bins),
        min_cell_messages=int(h["min_cell_messages"]),
    )
    return ChatReactions(
        windows=WindowReactions(
            window_s=float(h["window_s"]),
            hop_s=float(h["hop_s"]),
            messages=a["window_messages"].astype(np.int32),
            chatters=a["window_chatters"].astype(np.int32),
            emotes=a["window_emotes"].astype(np.int32),
            keywords=(),
            keyword_counts=np.zeros((n_windows, 0), dtype=np.int32),
            top=((),) * n_windows,
        ),
        series=ChatSeries(
            bin_s=float(h["bin_s"]),
            messages=a["bin_messages"].astype(np.int32),
            chatters=a["bin_chatters"].astype(np.int32),
            tokens=({},) * n_bins,
            baseline=float(h["baseline"]),
        ),
        n_messages=int(h["n_messages"]),
        beyond=int(h["beyond"]),
        tokens=counted,
    )


def _decode_v1(data: bytes) -> ChatReactions:
    """Version 1: the default keywords' counts as zlib-compressed JSON (no token counts)."""
    doc: dict[str, Any] = json.loads(zlib.decompress(data))
    if doc.get("version") != 1:
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
