"""Hypeline's library: find the moments in a stream by how they sound, with CLAP."""

from emotion.classify import Classification, Classifier
from emotion.errors import HypelineError
from emotion.model.clap import Clap, load_clap

__all__ = ["Clap", "Classification", "Classifier", "HypelineError", "load_clap"]
