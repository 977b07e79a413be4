"""The ``stridekit`` command line: thin commands that parse, call the library, render."""

from stridekit.cli import adapt, analyze, doctor, plan, shape, sizes, solve
from stridekit.cli.app import app, main

__all__ = ["adapt", "analyze", "app", "doctor", "main", "plan", "shape", "sizes", "solve"]
