"""When a model cannot run at the input size asked: which merge fails, and what to use.

The commonest stride error is a U-Net or FPN traced at a size its strides cannot
reproduce: pooled four times, 250 becomes 125, 62, 31, 15, and upsampled back 15 → 30
meets the skip of 31 in a ``cat`` that fails. The tracer recognises such a failure by
what the failing op is (a merge whose branches differ in spatial size, `MergeSizeError`);
`explain_size_failure` then traces the model at a nearby size that runs, and answers
from that analysis: the merge that fails (the first whose branches the size algebra
makes unequal at the size asked), the valid sizes in closed form
(`stridekit.passes.model_valid_sizes`) and the nearest ones, with the rows and columns
a crop or a pad costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from stridekit.errors import MergeSizeError, StrideError
from stridekit.geometry import SizeSet
from stridekit.geometry.adapt import around
from stridekit.graph import Graph
from stridekit.passes import model_valid_sizes
from stridekit.passes.sizes import SizePlan, each_axis

if TYPE_CHECKING:
    from stridekit.analysis import Analysis

Shape = tuple[int, ...]
# nearby sizes are multiples of these (the cumulative strides of common models), tried
# from the nearest up; each try is one trace
ROUNDINGS = (2, 4, 8, 16, 32, 64, 128, 256)


def nearby_shapes(shape: Shape) -> Iterator[Shape]:
    """Input shapes near ``shape`` to trace instead: each spatial size rounded up, then
    down, to a multiple of 2, 4, 8, ... (the first that runs answers).

    >>> list(nearby_shapes((1, 3, 250, 250)))[:4]
    [(1, 3, 252, 252), (1, 3, 248, 248), (1, 3, 256, 256), (1, 3, 240, 240)]
    """
    seen = {shape}
    for step in ROUNDINGS:
        up = tuple(-(-n // step) * step for n in shape[2:])
        down = tuple(max(step, n // step * step) for n in shape[2:])
        for sizes in (up, down):
            candidate = (*shape[:2], *sizes)
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _shape_text(sizes: Shape) -> str:
    return "x".join(map(str, sizes))


@dataclass(frozen=True)
class SizeFailure:
    """Why ``model`` cannot run at ``input_shape``, learnt from ``nearby``, an analysis
    of it at a size that runs: the merge that fails (a node of ``nearby``), its branches'
    spatial sizes at the size asked, and the valid sizes of each axis (None where the
    size algebra cannot tell)."""

    model: str
    input_shape: Shape
    merge: str
    sizes: tuple[Shape, ...]
    nearby: Analysis
    valid: tuple[SizeSet | None, ...]

    def nearest(self, axis: int) -> tuple[int | None, int | None]:
        """The valid sizes nearest the size asked on ``axis``, below and above it."""
        valid = self.valid[axis]
        n = self.input_shape[2 + axis]
        return (None, None) if valid is None or n in valid else around(valid, n)

    def _axis_text(self, axis: int) -> str:
        valid, n = self.valid[axis], self.input_shape[2 + axis]
        if valid is None:
            return "unknown"
        if n in valid:
            return f"{valid.closed_form()}: {n} is one"
        below, above = self.nearest(axis)
        options = ([f"{below} (crop {n - below})"] if below is not None else []) + (
            [f"{above} (pad {above - n})"] if above is not None else []
        )
        return f"{valid.closed_form()}: {' or '.join(options) or 'none near'}"

    def line(self) -> str:
        """The answer in one line."""
        branches = " and ".join(_shape_text(s) for s in self.sizes)
        texts = [self._axis_text(axis) for axis in range(len(self.valid))]
        if len(set(texts)) == 1:
            rule = f"valid sizes on every axis: {texts[0]}"
        else:
            rule = "; ".join(f"valid sizes on axis {a}: {t}" for a, t in enumerate(texts))
        return (
            f"{self.model}: input {_shape_text(self.input_shape)} cannot run: the branches "
            f"merged at {self.merge} are {branches}; {rule} "
            f"(analysed at {_shape_text(self.nearby.input_shape)}, which runs)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "merge": self.merge,
            "sizes": [list(s) for s in self.sizes],
            "valid_sizes": [v.closed_form() if v is not None else None for v in self.valid],
            "nearest": [list(self.nearest(axis)) for axis in range(len(self.valid))],
            "analysed_at": list(self.nearby.input_shape),
        }


def failing_merge(graph: Graph, input_shape: Shape) -> str | None:
    """The first merge (in graph order) whose branches the size algebra makes unequal
    at ``input_shape``: the one a forward at that size fails in.

    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Node
    >>> g = Graph(input_shape=(1, 1, 8, 8))
    >>> w = Window(2, 2)
    >>> _ = g.add(Node("pool", "max_pool", ("input",), ((1, 1, 8, 8),), (1, 1, 4, 4), (w, w)))
    >>> up = Window(2, 2, transposed=True)
    >>> _ = g.add(Node("up", "conv_transpose", ("pool",), ((1, 1, 4, 4),), (1, 1, 8, 8), (up, up)))
    >>> _ = g.add(Node("cat", "concat", ("input", "up"), ((1, 1, 8, 8),) * 2, (1, 2, 8, 8)))
    >>> failing_merge(g, (1, 1, 9, 9))         # 9 → 4 → 8, merged with 9
    'cat'
    """
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    failing: list[str] = []
    for axis, n in enumerate(input_shape[2:]):
        plan = SizePlan.compile(graph, axis)
        sizes = plan.sizes(n)
        if sizes is not None:
            failing += [m.name for m in plan.merges if sizes[m.first] != sizes[m.other]]
    return min(failing, key=order.__getitem__) if failing else None


def explain_size_failure(
    error: MergeSizeError, model: str, run: Callable[[Shape], Analysis]
) -> MergeSizeError:
    """``error`` answered from the nearest size at which ``run`` (an analysis of the
    model at an input shape) works: its message becomes `SizeFailure.line` and its
    ``explanation`` the `SizeFailure`. Unchanged when no nearby size runs."""
    for shape in nearby_shapes(error.input_shape):
        try:
            nearby = run(shape)
        except StrideError:
            continue
        graph = nearby.graph
        spatial = len(shape) - 2
        failure = SizeFailure(
            model,
            error.input_shape,
            failing_merge(graph, error.input_shape) or error.module or "the top-level forward",
            error.sizes,
            nearby,
            tuple(map(each_axis(partial(model_valid_sizes, graph)), range(spatial))),
        )
        return MergeSizeError(
            failure.line(),
            module=error.module,
            op=error.op,
            sizes=error.sizes,
            input_shape=error.input_shape,
            explanation=failure,
        )
    return error
