"""The ``stridekit`` command line: thin commands that parse, call the library, render."""

from stridekit.cli import (
    adapt,
    analyze,
    compare,
    doctor,
    examples,
    plan,
    report,
    results,
    serve,
    shape,
    sizes,
    solve,
    sweep,
    viz,
)
from stridekit.cli.app import app, main

__all__ = [
    "adapt",
    "analyze",
    "app",
    "compare",
    "doctor",
    "examples",
    "main",
    "plan",
    "report",
    "results",
    "serve",
    "shape",
    "sizes",
    "solve",
    "sweep",
    "viz",
]
