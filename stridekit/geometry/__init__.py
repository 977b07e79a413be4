"""The stride algebra of one spatial axis. Pure Python: ints, ``Fraction`` and numpy.

This package never imports torch; the rest of stridekit builds on it.
"""

from stridekit.geometry.field import Field, Merge, merge_fields
from stridekit.geometry.op import Op, OpArguments
from stridekit.geometry.ops import OPS, OpRule, make_window, output_size
from stridekit.geometry.padding import CONVENTIONS, resolve_padding, same_padding
from stridekit.geometry.report import (
    AxisReport,
    ShapeReport,
    describe_axis,
    describe_chain,
    describe_op,
)
from stridekit.geometry.resample import Resample, Sizing, exact_scale, resize_bounds
from stridekit.geometry.solutions import Solution, Solutions, solve_windows
from stridekit.geometry.solve import SIZE_RULES, SizeSet, valid_input_sizes
from stridekit.geometry.spectral import (
    spectral_frequencies,
    spectral_half_band,
    spectral_mask,
    spectral_output_size,
)
from stridekit.geometry.window import Unread, Window

__all__ = [
    "CONVENTIONS",
    "OPS",
    "SIZE_RULES",
    "AxisReport",
    "Field",
    "Merge",
    "Op",
    "OpArguments",
    "OpRule",
    "Resample",
    "ShapeReport",
    "SizeSet",
    "Sizing",
    "Solution",
    "Solutions",
    "Unread",
    "Window",
    "describe_axis",
    "describe_chain",
    "describe_op",
    "exact_scale",
    "make_window",
    "merge_fields",
    "output_size",
    "resize_bounds",
    "resolve_padding",
    "same_padding",
    "solve_windows",
    "spectral_frequencies",
    "spectral_half_band",
    "spectral_mask",
    "spectral_output_size",
    "valid_input_sizes",
]
