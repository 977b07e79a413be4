"""`Field`: which input pixels an output index sees, along one axis.

A field ``(J, lo, hi)`` says output index ``m`` reads input pixels ``[m·J + lo, m·J + hi]``
(input coordinates: negative or ``>= n`` is padding). ``J`` is the cumulative stride
(the *jump*); ``hi − lo + 1`` is the receptive field size; ``−lo`` the effective padding.
All three are `Fraction`: upsampling makes ``J`` fractional, and stridekit never rounds.

Through a window with stride ``s``, extent ``e`` and left padding ``p``, output ``m`` reads
window inputs ``[m·s − p, m·s − p + e − 1]``, each of which reads ``[x·J + lo, x·J + hi]``::

    J' = J·s,   lo' = lo − p·J,   hi' = hi + (e − 1 − p)·J

A transposed window (stride ``s``) maps output ``i`` back to inputs
``[(i + p − (e−1))/s, (i + p)/s]`` (outer bounds), so ``J' = J/s`` and the offsets shrink
by ``s``: the field is conservative, never too small.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from stridekit.errors import FieldError
from stridekit.geometry.window import Window

Number = int | Fraction


@dataclass(frozen=True)
class Field:
    """The receptive field of one axis of a feature map.

    >>> f = Field().through(Window(7, 2, padding=(3, 3))).through(Window(3, 2, padding=(1, 1)))
    >>> f.jump, f.lo, f.hi, f.size
    (Fraction(4, 1), Fraction(-5, 1), Fraction(5, 1), Fraction(11, 1))
    >>> Field().through(Window(4, 2, padding=(1, 1), transposed=True)).jump
    Fraction(1, 2)
    >>> Field().globalized().is_global
    True
    """

    jump: Fraction = Fraction(1)
    lo: Fraction = Fraction(0)
    hi: Fraction = Fraction(0)
    is_global: bool = False

    def __post_init__(self) -> None:
        for name in ("jump", "lo", "hi"):
            object.__setattr__(self, name, Fraction(getattr(self, name)))
        if self.jump <= 0:
            raise FieldError(f"a field's jump must be positive, got {self.jump}")

    @property
    def size(self) -> Fraction:
        """Receptive field size ``hi − lo + 1`` (meaningless when global)."""
        return self.hi - self.lo + 1

    @property
    def centre(self) -> Fraction:
        """Centre of output 0's field, ``(lo + hi) / 2``."""
        return (self.lo + self.hi) / 2

    @property
    def effective_padding(self) -> Fraction:
        """How far output 0's field reaches before pixel 0: ``−lo``."""
        return -self.lo

    def map(self, scale: Number, start: Number, stop: Number) -> Field:
        """Compose with a layer whose output ``i`` reads ``[i·scale + start, i·scale + stop]``.

        >>> Field().map(Fraction(1, 2), Fraction(-1, 2), 0)  # nearest upsampling ×2
        Field(jump=Fraction(1, 2), lo=Fraction(-1, 2), hi=Fraction(0, 1), is_global=False)
        """
        scale, start, stop = Fraction(scale), Fraction(start), Fraction(stop)
        return Field(
            jump=self.jump * scale,
            lo=self.lo + start * self.jump,
            hi=self.hi + stop * self.jump,
            is_global=self.is_global,
        )

    def through(self, window: Window) -> Field:
        """Compose with a `Window` (forward or transposed)."""
        s, e, p = window.stride, window.extent, window.pad_lo
        if window.transposed:
            return self.map(Fraction(1, s), Fraction(p - (e - 1), s), Fraction(p, s))
        return self.map(s, -p, e - 1 - p)

    def globalized(self) -> Field:
        """The field after an op that mixes every position (global pooling, attention)."""
        return Field(self.jump, self.lo, self.hi, is_global=True)

    def interval(self, m: int) -> tuple[Fraction, Fraction]:
        """Input interval read by output index ``m``."""
        return m * self.jump + self.lo, m * self.jump + self.hi


@dataclass(frozen=True)
class Merge:
    """The result of merging branches: the union field and the centres' misalignment."""

    field: Field
    misalignment: Fraction  # largest difference of branch centres, in input pixels


def merge_fields(fields: Iterable[Field]) -> Merge:
    """Merge the fields of branches combined by add, mul or concat.

    Branches must have the same jump; the merged field is their union, and centres that
    differ are reported as misalignment (the TF-SAME vs PyTorch padding trap).

    >>> a = Field().through(Window(3, 2, padding=(1, 1)))  # PyTorch padding
    >>> b = Field().through(Window(3, 2, padding=(0, 1)))  # TF SAME on an even input
    >>> merge = merge_fields([a, b])
    >>> merge.field.lo, merge.field.hi, merge.misalignment
    (Fraction(-1, 1), Fraction(2, 1), Fraction(1, 1))
    """
    items = list(fields)
    if not items:
        raise FieldError("merge_fields needs at least one field")
    jumps = {f.jump for f in items}
    if len(jumps) > 1:
        listed = ", ".join(str(j) for j in sorted(jumps))
        raise FieldError(
            f"cannot align branches with different cumulative strides ({listed}): one "
            "output position reads different grids"
        )
    centres = [f.centre for f in items]
    field = Field(
        jump=items[0].jump,
        lo=min(f.lo for f in items),
        hi=max(f.hi for f in items),
        is_global=any(f.is_global for f in items),
    )
    return Merge(field=field, misalignment=max(centres) - min(centres))
