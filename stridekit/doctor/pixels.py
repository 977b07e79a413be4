"""Rules about which pixels survive: dropped-pixels, gaps, collapse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.registry import rule
from stridekit.geometry import Resample, Window
from stridekit.geometry.adapt import around
from stridekit.graph import GLOBAL_OPS, Graph, Node
from stridekit.passes import model_valid_sizes
from stridekit.passes.sizes import each_axis

if TYPE_CHECKING:
    from stridekit.analysis import Analysis


def _window_readers(readers: list[Node], axis: int) -> list[Window] | None:
    """The forward windows reading one axis, or None if some reader reads every pixel."""
    windows = []
    for reader in readers:
        if not reader.axes or len(reader.axes) <= axis:
            return None
        window = reader.axes[axis]
        if not isinstance(window, Window) or window.transposed:
            return None
        windows.append(window)
    return windows


def _sides(indices: list[int], n: int) -> dict[str, int]:
    start = next((i for i, x in enumerate(indices) if x != i), len(indices))
    end = 0
    for offset, x in enumerate(reversed(indices)):
        if x != n - 1 - offset:
            break
        end += 1
    return {"start": start, "end": end, "interior": len(indices) - start - end}


def _unread_by_all(node: Node, readers: list[Node]) -> Iterator[tuple[int, int, list[int], int]]:
    """Per axis: the real pixels of ``node``'s output that none of its readers reads.

    Pixels a ``pad`` node added are padding (reading them or not is harmless): the real
    ones are re-indexed from 0. Yields (axis, tensor size, unread real pixels, real size).
    """
    for axis, n in enumerate(node.spatial_shape):
        windows = _window_readers(readers, axis)
        if not windows:
            continue
        unread = set(windows[0].unread(n).real)
        for window in windows[1:]:
            unread &= set(window.unread(n).real)
        lo, hi = node.added_padding(axis)
        real = sorted(i - lo for i in unread if lo <= i < n - hi)
        if real:
            yield axis, n, real, n - lo - hi


def _read_through_a_shift(
    node: Node, axis: int, unread: list[int], all_readers: dict[str, list[Node]], graph: Graph
) -> bool:
    """Whether ``node`` only shifts its input (a pad or a crop: NASNet's factorized
    reduction pads one side and crops the other, then reads every other pixel) and the
    input pixels its readers skip are read by the input's other readers (the unshifted
    path reads the other phase): then nothing is lost, only split between branches.
    ``unread`` holds the real pixels, counted from the first real one."""
    if node.op != "pad" or not node.axes or len(node.inputs) != 1:
        return False
    shift = node.axes[axis]
    if not isinstance(shift, Resample) or shift.scale != 1 or shift.start.denominator != 1:
        return False
    source = graph.position_source(node.inputs[0])
    n = graph[source].spatial_shape[axis]
    lo, _ = node.added_padding(axis)
    # output pixel i reads input pixel i + start; real pixel r is output pixel r + lo
    wanted = {r + lo + int(shift.start) for r in unread}
    others = [r for r in all_readers.get(source, []) if r.name != node.name]
    windows = _window_readers(others, axis)
    if windows is None:
        return bool(others)  # some other reader reads every pixel
    if not windows:
        return False
    unread_there = set.intersection(*(set(w.unread(n).real) for w in windows))
    return not (wanted & unread_there)


def _nearest_inputs(analysis: Analysis) -> Callable[[int], str]:
    """The model input sizes nearest the current one at which nothing is dropped, as a
    clause of a fix; the valid sizes of each axis are computed once per doctor run."""
    valid = each_axis(partial(model_valid_sizes, analysis.graph))

    def clause(axis: int) -> str:
        sizes = valid(axis)
        if sizes is None:
            return ""
        nearest = sorted(
            {n for n in around(sizes, analysis.input_shape[2 + axis]) if n is not None}
        )
        if not nearest:
            return ""
        return f"; model inputs {' or '.join(map(str, nearest))} on axis {axis} drop nothing"

    return clause


@rule("dropped-pixels", "real pixels of a tensor that no op reads")
def dropped_pixels(analysis: Analysis) -> Iterator[Finding]:
    all_readers = analysis.graph.pixel_readers()
    nearest_inputs = _nearest_inputs(analysis)
    for node in analysis.graph.nodes:
        readers = all_readers.get(node.name, [])
        if not readers or not node.has_positions:
            continue
        for axis, n, unread, real_size in _unread_by_all(node, readers):
            if _read_through_a_shift(node, axis, unread, all_readers, analysis.graph):
                continue
            sides = _sides(unread, real_size)
            reader = readers[0]
            window = reader.axes[axis] if reader.axes else None
            fix = "pad or crop the input so every window fits" + nearest_inputs(axis)
            if isinstance(window, Window) and sides["end"] and len(readers) == 1:
                extra = sides["end"]
                fix = (
                    f"give layer {reader.name} padding ({window.pad_lo}, "
                    f"{window.pad_hi + extra}) on axis {axis}, or a tensor of {n - extra} or "
                    f"{n + window.stride - window.remainder(n)} pixels" + nearest_inputs(axis)
                )
            where = ", ".join(f"{count} at the {side}" for side, count in sides.items() if count)
            formula = f" ({window.formula(n)})" if isinstance(window, Window) else ""
            yield Finding(
                "dropped-pixels",
                Severity.warning,
                reader.name if len(readers) == 1 else node.name,
                f"{len(unread)} of {real_size} real pixels on axis {axis} of "
                f"{'the input' if node.op == 'input' else repr(node.name) + ' output'} are "
                f"never read ({where}){formula}",
                fix,
                {
                    "axis": axis,
                    "size": real_size,
                    "count": len(unread),
                    "sides": sides,
                    "tensor": node.name,
                },
            )


@rule("gaps", "a stride larger than the window: pixels between windows are skipped")
def gaps(analysis: Analysis) -> Iterator[Finding]:
    graph = analysis.graph
    all_readers = graph.pixel_readers()
    for node in graph.nodes:
        windows = node.windows
        if not windows or not node.inputs:
            continue
        source = graph[graph.position_source(node.inputs[0])]
        readers = all_readers.get(source.name, [])
        for axis, window in enumerate(windows):
            if not window.has_gaps:
                continue
            siblings = [r for r in readers if r is not node]
            skipped = [u for a, _, u, _ in _unread_by_all(source, readers) if a == axis]
            # read by a sibling, or (through a shift) by a reader of the shifted tensor
            covered = (bool(siblings) or bool(skipped)) and all(
                _read_through_a_shift(source, axis, unread, all_readers, graph)
                for unread in skipped
            )
            yield Finding(
                "gaps",
                Severity.info if covered else Severity.warning,
                node.name,
                f"stride {window.stride} with kernel {window.kernel} (dilation "
                f"{window.dilation}) skips pixels between windows on axis {axis}"
                + ("; another branch reads them" if covered else ""),
                "use a kernel of at least the stride (ResNet-D: average-pool then a 1x1 conv)",
                {"axis": axis, "stride": window.stride, "extent": window.extent},
            )


def _live(graph: Graph) -> set[str]:
    """The nodes the output depends on (not the slices a phase concat no longer reads)."""
    live, stack = set(), [graph.output.name]
    while stack:
        name = stack.pop()
        if name not in live:
            live.add(name)
            stack.extend(graph[name].inputs)
    return live


def _map_ops_after(
    node: Node, consumers: dict[str, list[Node]], live: set[str], seen: set[str]
) -> Iterator[Node]:
    """Breadth first from ``node``'s consumers, up to the head's global op: each later
    layer that acts on the spatial axes (a window or a resample, i.e. a layer that still
    treats it as a map); ``seen`` collects every node passed."""
    queue = list(consumers[node.name])
    while queue:
        later = queue.pop(0)
        if later.name in seen or later.name not in live or later.op in GLOBAL_OPS:
            continue
        seen.add(later.name)
        if later.axes is not None:
            yield later
        queue.extend(consumers[later.name])


def _later_spatial_op(node: Node, consumers: dict[str, list[Node]], live: set[str]) -> Node | None:
    """The first op after ``node`` (before any global op) that acts on its spatial axes."""
    return next(_map_ops_after(node, consumers, live, set()), None)


def _reads_whole_map(node: Node) -> bool:
    """A stride-1 window exactly as large as its unpadded input on every axis it brings
    to one pixel: a dense layer over the whole remaining map (VGG's classifier written
    as a 7x7 conv over the 7x7 map), not a stride that shrinks the map."""
    windows = node.windows
    if node.op != "conv" or not windows or not node.input_shapes:
        return False
    sizes = node.input_shapes[0][2:]
    collapsed = [
        (w, n)
        for w, n, out in zip(windows, sizes, node.spatial_shape, strict=False)
        if out == 1 and n > 1
    ]
    return bool(collapsed) and all(
        w.stride == 1 and w.padding == (0, 0) and w.extent == n for w, n in collapsed
    )


def _inside_windows(graph: Graph, consumers: dict[str, list[Node]], live: set[str]) -> set[str]:
    """The layers that work on windows cut by an unfold (HaloNet's and BAT's blocks, TNT's,
    ``F.unfold``), up to the global op that reads them: their spatial axes count windows
    and each window's taps hold its positions, so one window is a block, not a pixel."""
    inside: set[str] = set()
    for node in graph.nodes:
        if node.op == "unfold" and node.name in live and node.name not in inside:
            inside.add(node.name)
            for _ in _map_ops_after(node, consumers, live, inside):
                pass  # every node passed lands in ``inside``
    return inside


def _pools_whole_axes(node: Node) -> bool:
    """An adaptive pool that asks for one output on every axis it brings to one pixel
    (``adaptive_max_pool2d(x, (8, 1))``: one strip per row, as coordinate attention and
    BAT pool): a reduction the model asked for by size, not a stride too large for the
    input. A fixed window that happens to cover a small map (VGG's last max pool at 32²)
    is still a collapse."""
    if not node.op.endswith("pool") or not node.axes or not node.input_shapes:
        return False
    sizes = node.input_shapes[0][2:]
    collapsed = [
        m
        for m, n, out in zip(node.axes, sizes, node.spatial_shape, strict=False)
        if out == 1 and n > 1
    ]
    return bool(collapsed) and all(
        isinstance(m, Resample) and m.kind == "adaptive" for m in collapsed
    )


def _pointwise_until_head(
    node: Node, consumers: dict[str, list[Node]], live: set[str]
) -> tuple[bool, set[str]]:
    """Whether every layer after ``node`` that works on the map, up to the head's global
    op, is pointwise (a 1x1 conv: a linear layer on one pixel); and the nodes seen."""
    seen: set[str] = set()
    for later in _map_ops_after(node, consumers, live, seen):
        windows = later.windows or ()
        pointwise = [w.extent == 1 and w.stride == 1 and not any(w.padding) for w in windows]
        if not pointwise or not all(pointwise):
            return False, seen
    return True, seen


@rule("collapse", "a spatial size that reaches 1 while later layers still work on the map")
def collapse(analysis: Analysis) -> Iterator[Finding]:
    """Judged on the path that carries the spatial map to the head: tensors that still
    hold the spatial axes (the layout says which: tokens before a class token joins them
    do, a flattened vector does not) and whose local field is not global on the axes
    that reach one pixel (a squeeze-and-excitation gate pooled to 1x1 and broadcast back
    by a multiply is a gate; coordinate attention's and BAT's strips pooled to Hx1 are
    rows, each of which read the whole width). The
    map collapses where it first reaches one pixel on an axis while a later layer (a
    window or a resample, before the head's global op) still works on it. A classifier
    written as a conv (a stride-1 kernel as large as the whole remaining map, then only
    1x1 convs up to the head) is the head, not a collapse; nor is one window of an
    unfold (its taps hold the positions: HaloNet's last stage is one 8x8 block)."""
    graph = analysis.graph
    consumers = graph.consumers()
    local = analysis.field_result.local
    live = _live(graph)
    head: set[str] = set()  # the layers of a classifier written as convs
    windowed = _inside_windows(graph, consumers, live)
    for node in graph.nodes[1:]:
        if node.op in GLOBAL_OPS or not node.has_positions or node.name not in live:
            continue
        if node.name in head or node.name in windowed:
            continue
        fields = local.get(node.name, ())
        spatial = node.spatial_shape
        if not spatial or min(spatial) > 1 or not fields:
            continue
        if all(f.is_global for f, n in zip(fields, spatial, strict=False) if n == 1):
            continue  # pooled whole along the axes it brings to one (a gate, a strip pool)
        if _pools_whole_axes(node):
            continue
        later = _later_spatial_op(node, consumers, live)
        if later is None:
            continue
        if _reads_whole_map(node):
            pointwise, after = _pointwise_until_head(node, consumers, live)
            if pointwise:
                head |= after
                continue
        yield Finding(
            "collapse",
            Severity.warning,
            node.name,
            f"the feature map collapses to {'x'.join(map(str, spatial))} at {node.name}, "
            "before the head: later layers see no spatial structure",
            "use a larger input, or remove a stride (or replace it with dilation)",
            {"shape": list(spatial), "later": later.name},
        )
        return
