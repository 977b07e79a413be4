"""Where the spatial axes of a traced tensor live, through views, permutes and reductions.

A model's input is ``(N, C, *spatial)``, but its activations do not stay that way:
ConvNeXt permutes to ``(N, H, W, C)`` and runs its linear layers on ``(N·H·W, C)`` rows,
ViT flattens ``(N, D, h, w)`` to ``(N, D, h·w)`` tokens. A `Layout` says, for each dim of a
tensor, which *atoms* it holds, outer to inner: a spatial axis (label ``0, 1, …``), the
batch (`BATCH`) or anything else (`CHANNEL`), each with its size. Pure Python, no torch.

- A spatial axis merged with the batch or with other spatial axes still has positions:
  ``(N·H·W, C)`` rows are pixels, so a linear layer on them is a 1×1 convolution.
- A spatial axis merged with channels (``flatten`` before a classifier) or split (window
  partitions) has no positions any more: `reshape` says ``"flatten"`` and the layout is lost.

>>> x = standard((2, 8, 7, 7), spatial=2)
>>> rows, verdict = reshape(permute(x, (0, 2, 3, 1)), (98, 8))
>>> rows, verdict
((((-1, 2), (0, 7), (1, 7)), ((-2, 8),)), 'view')
>>> reshape(x, (2, 392))
(None, 'flatten')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

BATCH = -1
CHANNEL = -2

Atom = tuple[int, int]  # (label, size): label >= 0 is a spatial axis
Dim = tuple[Atom, ...]
Layout = tuple[Dim, ...]


def _dim(atoms: Iterable[Atom]) -> Dim:
    """Drop size-1 atoms that carry no position (a batch of 1, a single channel)."""
    return tuple((label, size) for label, size in atoms if size != 1 or label >= 0)


def standard(shape: Sequence[int], spatial: int) -> Layout | None:
    """The layout of an ``(N, C, *spatial)`` tensor, or None for another rank.

    >>> standard((1, 3, 32, 24), spatial=2)  # a batch of one carries no atom
    ((), ((-2, 3),), ((0, 32),), ((1, 24),))
    """
    if len(shape) != spatial + 2:
        return None
    batch, channels, *sizes = shape
    return (
        _dim([(BATCH, batch)]),
        _dim([(CHANNEL, channels)]),
        *(((axis, size),) for axis, size in enumerate(sizes)),
    )


def has_positions(dim: Dim) -> bool:
    """True when the dim holds a spatial axis longer than one pixel.

    >>> has_positions(((-1, 2), (0, 7))), has_positions(((0, 1),))
    (True, False)
    """
    return any(label >= 0 and size > 1 for label, size in dim)


def positional(layout: Layout | None) -> bool:
    """True when some dim holds positions (the tensor is still a map of pixels).

    >>> positional(standard((1, 8, 7, 7), 2)), positional(standard((1, 8, 1, 1), 2))
    (True, False)
    """
    return layout is not None and any(has_positions(dim) for dim in layout)


def axis_of(dim: Dim) -> int | None:
    """The spatial axis a dim holds alone, or None.

    >>> axis_of(((1, 7),)), axis_of(((0, 7), (1, 7))), axis_of(((-2, 8),))
    (1, None, None)
    """
    if len(dim) == 1 and dim[0][0] >= 0:
        return dim[0][0]
    return None


def resize(layout: Layout | None, shape: Sequence[int]) -> Layout | None:
    """The same structure with new sizes (channels changed, an axis strided...).

    A dim that holds one atom takes the new size; a merged dim without positions becomes
    one channel atom; a merged dim with positions that changed size loses the layout.

    >>> resize(standard((1, 3, 32, 32), 2), (1, 8, 16, 16))
    ((), ((-2, 8),), ((0, 16),), ((1, 16),))
    """
    if layout is None or len(layout) != len(shape):
        return None
    dims = []
    for dim, size in zip(layout, shape, strict=True):
        old = 1
        for _, n in dim:
            old *= n
        if old == size:
            dims.append(dim)
        elif len(dim) == 1:
            dims.append(_dim([(dim[0][0], size)]))
        elif not has_positions(dim):
            dims.append(_dim([(CHANNEL, size)]))
        else:
            return None
    return tuple(dims)


def permute(layout: Layout | None, order: Sequence[int]) -> Layout | None:
    """Reorder dims: ``permute(x, (0, 2, 3, 1))`` is NCHW → NHWC.

    >>> permute(standard((2, 8, 5, 6), 2), (0, 2, 3, 1))
    (((-1, 2),), ((0, 5),), ((1, 6),), ((-2, 8),))
    """
    if layout is None:
        return None
    return tuple(layout[d % len(layout)] for d in order)


def insert(layout: Layout | None, dim: int) -> Layout | None:
    """A new size-1 dim at ``dim`` (unsqueeze, stack).

    >>> insert(standard((1, 8, 5), 1), -1)
    ((), ((-2, 8),), ((0, 5),), ())
    """
    if layout is None:
        return None
    dim = dim % (len(layout) + 1)
    return (*layout[:dim], (), *layout[dim:])


def remove(layout: Layout | None, dims: Iterable[int]) -> Layout | None:
    """Drop dims (squeeze, select, reductions without keepdim).

    >>> remove(standard((1, 8, 5, 6), 2), [2, 3])
    ((), ((-2, 8),))
    """
    if layout is None:
        return None
    gone = {d % len(layout) for d in dims} if layout else set()
    return tuple(dim for i, dim in enumerate(layout) if i not in gone)


def collapse(layout: Layout | None, dims: Iterable[int]) -> Layout | None:
    """Reduce dims to size 1, keeping a lone spatial axis as a 1-pixel axis (keepdim).

    >>> collapse(standard((1, 8, 5, 6), 2), [2, 3])
    ((), ((-2, 8),), ((0, 1),), ((1, 1),))
    """
    if layout is None:
        return None
    gone = {d % len(layout) for d in dims}
    out = []
    for i, dim in enumerate(layout):
        if i not in gone:
            out.append(dim)
        else:
            axis = axis_of(dim)
            out.append(((axis, 1),) if axis is not None else ())
    return tuple(out)


def _runs(layout: Layout) -> deque[Atom]:
    """All atoms in memory order; consecutive non-spatial atoms fuse into one."""
    atoms: deque[Atom] = deque()
    for label, size in (atom for dim in layout for atom in dim):
        if size == 1:
            continue
        if label < 0 and atoms and atoms[-1][0] < 0:
            previous, n = atoms.pop()
            atoms.append((CHANNEL if CHANNEL in (previous, label) else BATCH, n * size))
        else:
            atoms.append((label, size))
    return atoms


def reshape(layout: Layout | None, shape: Sequence[int]) -> tuple[Layout | None, str]:
    """The layout after a view/reshape, and a verdict: ``view``, ``squeeze`` or ``flatten``.

    ``squeeze``: only 1-pixel spatial axes disappeared (after global pooling);
    ``flatten``: a spatial axis was merged with channels or split, positions are gone.

    >>> reshape(standard((1, 64, 1, 1), 2), (1, 64))
    (((), ((-2, 64),)), 'squeeze')
    >>> reshape(standard((1, 768, 14, 14), 2), (1, 768, 196))[1]
    'view'
    >>> reshape(standard((1, 96, 56, 56), 2), (1, 96, 8, 7, 56))[1]  # a window partition
    'flatten'
    """
    if layout is None:
        return None, "view"
    lost_unit = any(label >= 0 and size == 1 for dim in layout for label, size in dim)
    atoms = _runs(layout)
    dims: list[Dim] = []
    for size in shape:
        group: list[Atom] = []
        filled = 1
        while filled < size:
            if not atoms or size % filled:
                return None, "flatten"
            label, n = atoms.popleft()
            need = size // filled
            if need % n == 0:
                group.append((label, n))
                filled *= n
            elif label < 0 and n % need == 0:  # split a channel/batch run
                group.append((label, need))
                atoms.appendleft((label, n // need))
                filled = size
            else:  # a spatial axis would be cut in pieces
                return None, "flatten"
        dims.append(tuple(group))
    if atoms:
        return None, "flatten"
    for dim in dims:
        if has_positions(dim) and any(label == CHANNEL for label, _ in dim):
            return None, "flatten"
    return tuple(dims), "squeeze" if lost_unit else "view"
