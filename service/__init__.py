"""The HTTP API over the ``emotion`` library (``python -m emotion serve``).

A package of its own, beside ``emotion/`` rather than inside it: the library never
imports FastAPI, so ``import emotion`` stays free of the web stack and only the
``serve`` command (imported lazily by the CLI) pulls it in.
"""
