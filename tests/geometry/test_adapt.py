"""The valid sizes around a size (`around`), against every member listed one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.geometry import SizeSet
from stridekit.geometry.adapt import around


@st.composite
def size_sets(draw: st.DrawFn) -> SizeSet:
    period = draw(st.integers(1, 40))
    residues = draw(st.sets(st.integers(0, period - 1), max_size=4))
    minimum = draw(st.integers(1, 120))
    maximum = draw(st.none() | st.integers(1, 400))
    return SizeSet(period, tuple(sorted(residues)), minimum, maximum)


@settings(max_examples=300, deadline=None)
@given(sizes=size_sets(), n=st.integers(1, 500))
def test_around_is_the_nearest_member_on_each_side(sizes: SizeSet, n: int) -> None:
    # the oracle: membership tested size by size, far beyond any period or bound drawn
    members = [m for m in range(1, 2000) if m in sizes]
    below = [m for m in members if m <= n]
    above = [m for m in members if m >= n]
    expected = (below[-1] if below else None, above[0] if above else None)
    assert around(sizes, n) == expected
