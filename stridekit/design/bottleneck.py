"""Representational bottlenecks (Szegedy et al. 2016, "avoid bottlenecks, especially
early"): how many times a layer shrinks the activation volume ``C·H·W``, and how the
planner ranks plans whose layers shrink it more than a preferred limit.

A stride of 2 divides ``H·W`` by 4, so within a drop of 2 a layer that halves the map
must at least double its channels: strides land where the network widens. When the
target needs more downsampling than the channel growth allows (VGG16 widens three times
after its stem, and output stride 32 takes five halvings), some layer must exceed the
limit. The planner then ranks plans by their *excess*, the set of layers over the limit:
fewer layers first, then the earliest of them as late as possible (then the next, ...),
and only then by MACs.

The excess is one integer, a bit per layer with the earliest layer the most significant
(`excess_bit`), so the planner's dynamic programme carries it in the cost, not in the
state: it adds up over layers (the bits of different layers never collide), and
``(excess_rank, MACs)`` compared lexicographically is preserved by adding the same
suffix, which is all the programme's pruning needs to stay exact.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["drop_text", "exceeds", "excess_bit", "excess_rank", "volume_drop"]


def volume_drop(c_in: int, n_in: int, c_out: int, n_out: int) -> Fraction:
    """How many times a layer shrinks the activation volume ``C·H·W`` (square maps).

    >>> volume_drop(64, 56, 64, 28), volume_drop(64, 56, 128, 28), volume_drop(3, 224, 64, 112)
    (Fraction(4, 1), Fraction(2, 1), Fraction(3, 16))
    """
    return Fraction(c_in * n_in * n_in, c_out * n_out * n_out)


def exceeds(volume_in: int, volume_out: int, limit: Fraction) -> bool:
    """Whether ``volume_in → volume_out`` is a larger drop than ``limit``, in integers.

    >>> exceeds(64 * 56 * 56, 64 * 28 * 28, Fraction(2)), exceeds(64 * 56 * 56, 128 * 28 * 28, Fraction(2))
    (True, False)
    """  # noqa: E501
    # volume_in / volume_out > p/q  ⇔  volume_in·q > p·volume_out (volumes are positive)
    return volume_in * limit.denominator > limit.numerator * volume_out


def excess_bit(index: int, depth: int) -> int:
    """The bit that marks layer ``index`` of ``depth`` layers as over the limit; earlier
    layers weigh more than all later ones together.

    >>> [excess_bit(i, 4) for i in range(4)]
    [8, 4, 2, 1]
    """
    return 1 << (depth - 1 - index)


def excess_rank(excess: int) -> tuple[int, int]:
    """How a plan's excess (the sum of its layers' `excess_bit`) ranks, lower first: fewer
    layers over the limit, then the earliest of them as late as possible.

    With as many layers over, comparing the integers compares the sets at their earliest
    difference, and the set that holds that earlier layer is the larger integer: so the
    order is that of the layer indices, earliest first, each as late as possible.

    >>> over = lambda *layers: sum(excess_bit(i, 5) for i in layers)
    >>> sorted([(0, 4), (1,), (4,), (2, 3), (), (1, 4)], key=lambda ls: excess_rank(over(*ls)))
    [(), (4,), (1,), (2, 3), (1, 4), (0, 4)]
    """
    return excess.bit_count(), excess


def drop_text(drop: Fraction) -> str:
    """A volume drop for a table: exact when whole, else three significant digits.

    >>> drop_text(Fraction(4)), drop_text(Fraction(3, 16)), drop_text(Fraction(1, 3))
    ('4', '0.188', '0.333')
    """
    return str(drop.numerator) if drop.denominator == 1 else f"{float(drop):.3g}"
