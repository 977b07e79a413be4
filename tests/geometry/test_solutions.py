"""Counting unread pixels per residue (`covered`), nearest valid sizes, reduced periods and
the bounds on sizes: each against a pixel-by-pixel or exhaustive reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.errors import SizeError, StrideError
from stridekit.geometry import SizeSet, Window, solve_windows, valid_input_sizes
from stridekit.geometry.limits import MAX_SIZE
from stridekit.geometry.solutions import covered
from stridekit.geometry.solve import reduce_period


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 5),
    dilation=st.integers(1, 3),
    data=st.data(),
)
def test_forward_misses_match_the_pixels_no_window_reads(
    n: int, kernel: int, stride: int, dilation: int, data: st.DataObject
) -> None:
    extent = dilation * (kernel - 1) + 1
    lo, hi = data.draw(st.integers(0, extent - 1)), data.draw(st.integers(0, extent - 1))
    window = Window(kernel, stride, dilation, (lo, hi))
    if n + lo + hi < extent:
        return
    out = window.output_size(n)
    taps = range(-lo, -lo + kernel * dilation, dilation)
    # the reference: Window.unread walks every pixel (numpy coverage)
    assert n - covered(out, stride, taps, n) == len(window.unread(n).real)


@settings(max_examples=100, deadline=None)
@given(n_in=st.integers(2, 12), factor=st.integers(2, 3), extra=st.integers(0, 2))
def test_transposed_misses_match_the_outputs_no_input_writes(
    n_in: int, factor: int, extra: int
) -> None:
    n_out = n_in * factor + extra
    for solution in solve_windows(n_in, n_out, max_kernel=5, max_dilation=2):
        w = solution.window
        # the reference: an output is empty when none of its taps lands on an input pixel
        empty = sum(1 for i in range(n_out) if not any(0 <= j < n_in for j in w.taps(i)))
        assert solution.missed == empty


@st.composite
def size_sets(draw: st.DrawFn) -> SizeSet:
    period = draw(st.integers(1, 12))
    residues = draw(st.sets(st.integers(0, period - 1), max_size=period))
    return SizeSet(period, tuple(sorted(residues)), draw(st.integers(1, 40)))


@settings(max_examples=300, deadline=None)
@given(sizes=size_sets(), n=st.integers(1, 80))
def test_nearest_is_the_closest_member_or_none(sizes: SizeSet, n: int) -> None:
    members = [m for m in range(1, 200) if m in sizes]  # 200 > 80 + 40 + 2·12: enough
    nearest = sizes.nearest(n)
    if not members:
        assert nearest is None
        return
    assert nearest == min(members, key=lambda m: (abs(m - n), m))


@settings(max_examples=300, deadline=None)
@given(period=st.integers(1, 48), data=st.data())
def test_reduced_period_is_the_smallest_that_describes_the_set(
    period: int, data: st.DataObject
) -> None:
    residues = data.draw(st.sets(st.integers(0, period - 1)))
    reduced, kept = reduce_period(period, residues)
    # the reference: the first divisor whose residues, repeated, give the same set
    smallest = next(
        d
        for d in range(1, period + 1)
        if period % d == 0
        and {r for r in range(period) if r % d in {x % d for x in residues}} == residues
    )
    assert reduced == smallest
    assert {r for r in range(period) if r % reduced in kept} == residues


def test_sizes_beyond_the_bound_are_refused() -> None:
    with pytest.raises(SizeError, match=r"beyond 2\^20"):
        solve_windows(MAX_SIZE + 1, 3)
    with pytest.raises(SizeError, match="must be >= 1"):
        solve_windows(224, 0)


def test_a_search_with_too_many_answers_asks_to_narrow_it() -> None:
    # 2^20 → 2: every stride from ~2^19 up fits, with many paddings each
    with pytest.raises(SizeError, match="--max-stride"):
        solve_windows(MAX_SIZE, 2)


def test_a_period_beyond_the_bound_is_refused() -> None:
    with pytest.raises(SizeError, match="repeat only every 2,097,152 sizes"):
        valid_input_sizes([Window(3, 1024), Window(3, 1024), Window(3, 2)])


def test_large_strides_give_the_exact_threshold() -> None:
    # floor((n − 1000)/1000) + 1 ≥ 1 needs n ≥ 1000, and the next layer 1000 of those
    chain = [Window(1000, 1000), Window(1000, 1000)]
    sizes = valid_input_sizes(chain)
    assert (sizes.minimum, sizes.closed_form()) == (1_000_000, "1000000k")
    assert chain[1].output_size(chain[0].output_size(1_000_000)) == 1
    with pytest.raises(StrideError):
        chain[1].output_size(chain[0].output_size(999_999))
