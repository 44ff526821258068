"""Hypeline's library: find the moments in a stream by how they sound, with CLAP.

The names below load on first use: importing torch and transformers takes seconds, and
``import emotion.scoring`` (or the CLI's ``--help``) should not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotion.classify import Classification, Classifier
    from emotion.errors import HypelineError
    from emotion.model.clap import Clap, load_clap

_LAZY = {
    "Classification": "emotion.classify",
    "Classifier": "emotion.classify",
    "HypelineError": "emotion.errors",
    "Clap": "emotion.model.clap",
    "load_clap": "emotion.model.clap",
}
__all__ = ["Clap", "Classification", "Classifier", "HypelineError", "load_clap"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'emotion' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
