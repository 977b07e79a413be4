"""The stride explorer: a local web page on top of stridekit (``stridekit serve``).

Three tabs: one layer (output size and formula, the sliding window, coverage, findings),
a model (its layer table, findings, valid input sizes) and a sweep store (trials and
plots), over a JSON API whose every answer is the CLI's ``--format json``. Needs the
``web`` extra: ``pip install 'stridekit[web]'``.
"""

from stridekit.web.app import create_app
from stridekit.web.limits import Limits

__all__ = ["Limits", "create_app"]
