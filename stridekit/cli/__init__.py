"""The ``stridekit`` command line: thin commands that parse, call the library, render."""

from stridekit.cli import shape, sizes, solve
from stridekit.cli.app import app, main

__all__ = ["app", "main", "shape", "sizes", "solve"]
