"""The ``threadwatch`` command line: one module per command, ``main`` in ``main.py``."""

from pipeline.cli.main import main

__all__ = ["main"]
