"""stridekit: the stride toolkit for convolutional networks.

>>> import stridekit
>>> stridekit.output_size(224, kernel=7, stride=2, padding=3)
112
>>> stridekit.same_padding(224, kernel=7, stride=2)
(2, 3)
"""

from stridekit.analysis import Analysis, analyze
from stridekit.compare import Comparison, compare
from stridekit.doctor import doctor
from stridekit.errors import StrideError
from stridekit.geometry import Field, Op, Window, output_size, same_padding
from stridekit.version import __version__

__all__ = [
    "Analysis",
    "Comparison",
    "Field",
    "Op",
    "StrideError",
    "Window",
    "__version__",
    "analyze",
    "compare",
    "doctor",
    "output_size",
    "same_padding",
]
