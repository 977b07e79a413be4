"""What every file frontend's translation context knows of an op's inputs: which carry
activations (the others are constants), where their spatial axes are, and each one as
the canonical ops see it (`Meta`). ONNX's and TFLite's contexts add their own facts."""

from __future__ import annotations

from stridekit.geometry.layout import Layout
from stridekit.lowering import Meta

Shape = tuple[int, ...]


class OpInputs:
    """The inputs of one op; a subclass holds ``active``, ``layouts`` and ``spatial`` and
    says each input's ``shape``.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Two(OpInputs):
    ...     active: tuple[bool, ...] = (False, True)
    ...     layouts: tuple[Layout | None, ...] = (None, None)
    ...     spatial: int = 2
    ...     def shape(self, position: int) -> Shape:
    ...         return (1, 3, 8, 8)
    >>> Two().first, Two().x.shape, len(Two().inputs)
    (1, (1, 3, 8, 8), 1)
    """

    active: tuple[bool, ...]
    layouts: tuple[Layout | None, ...]
    spatial: int

    def shape(self, position: int) -> Shape:
        raise NotImplementedError

    def meta(self, position: int | None = None) -> Meta:
        """An input (default: the first activation) as the canonical ops see it."""
        position = self.first if position is None else position
        return Meta(self.shape(position), self.layouts[position], self.spatial)

    @property
    def first(self) -> int:
        """The position of the first input that carries activations."""
        return self.active.index(True)

    @property
    def x(self) -> Meta:
        return self.meta()

    @property
    def inputs(self) -> list[Meta]:
        """Every activation input."""
        return [self.meta(p) for p, active in enumerate(self.active) if active]
