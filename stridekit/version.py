"""stridekit's version, the one place it is written (the package metadata reads it).

A module of its own, below every layer, so that the store, the trial record, the CLI
and the explorer can name the version without importing the whole package.

>>> from stridekit.version import __version__
>>> __version__.count(".")
2
"""

__version__ = "0.1.0"
