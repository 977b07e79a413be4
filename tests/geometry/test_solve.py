"""Inverse problems against brute force: every window that fits, every valid size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.errors import StrideError
from stridekit.geometry import SizeSet, Window, solve_windows, valid_input_sizes


def brute_force_windows(n_in: int, n_out: int, max_kernel: int) -> set[Window]:
    found = set()
    for kernel in range(1, max_kernel + 1):
        extent = kernel
        for stride in range(1, n_in + extent + 1):
            for lo in range(extent):
                for hi in range(extent):
                    window = Window(kernel, stride, 1, (lo, hi))
                    try:
                        if window.output_size(n_in) == n_out:
                            found.add(window)
                    except StrideError:
                        pass
    return found


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 24), data=st.data())
def test_solve_finds_exactly_the_forward_windows(n_in: int, data: st.DataObject) -> None:
    n_out = data.draw(st.integers(2, n_in + 2))
    if n_out > n_in:
        return
    solutions = solve_windows(n_in, n_out, max_kernel=4)
    assert {s.window for s in solutions} == brute_force_windows(n_in, n_out, 4)


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(2, 20), factor=st.integers(2, 3), extra=st.integers(0, 2))
def test_transposed_solutions_map_exactly(n_in: int, factor: int, extra: int) -> None:
    n_out = n_in * factor + extra
    for solution in solve_windows(n_in, n_out, max_kernel=5):
        assert solution.window.transposed
        assert solution.window.output_size(n_in) == n_out


def test_ranking_prefers_reading_everything_then_cost() -> None:
    solutions = solve_windows(224, 112)
    ranks = [s.rank() for s in solutions]
    assert ranks == sorted(ranks)
    first_missing = next(i for i, s in enumerate(solutions) if not s.reads_all)
    assert all(s.reads_all for s in solutions[:first_missing])
    assert solutions[0].window == Window(2, 2)  # 112 outputs × 2 taps, nothing dropped


def last_tap(window: Window, n: int) -> int:
    """The input coordinate of the last pixel the last window reads, from its taps."""
    return max(window.taps(window.output_size(n) - 1))


def brute_force_sizes(windows: list[Window], rule: str, top: int) -> list[int]:
    """Every size 1..top through every layer, judged from the windows' explicit taps
    (`Window.output_size` itself is checked against torch in test_window_vs_torch):
    ``exact``: the last window's last tap is the last padded pixel ``n + hi − 1``;
    ``no-drop``: it reaches at least the last real pixel ``n − 1``."""
    valid = []
    for n in range(1, top + 1):
        size, ok = n, True
        for window in windows:
            try:
                nxt = window.output_size(size)
            except StrideError:
                ok = False
                break
            if not window.transposed:
                end = last_tap(window, size)
                if rule == "exact" and end != size + window.pad_hi - 1:
                    ok = False
                if rule == "no-drop" and end < size - 1:
                    ok = False
            size = nxt
        if ok:
            valid.append(n)
    return valid


@st.composite
def chains(draw: st.DrawFn) -> list[Window]:
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kernel, stride = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        pads = (draw(st.integers(0, kernel - 1)), draw(st.integers(0, kernel - 1)))
        if draw(st.integers(0, 5)) == 0:
            transposed = Window(kernel, stride, 1, pads, transposed=True)
            layers.append(transposed if stride > 1 else Window(kernel))
        else:
            layers.append(Window(kernel, stride, 1, pads, ceil_mode=draw(st.booleans())))
    return layers


@pytest.mark.parametrize("rule", ["exact", "no-drop"])
@settings(max_examples=150, deadline=None)
@given(windows=chains())
def test_valid_sizes_match_brute_force(rule: str, windows: list[Window]) -> None:
    sizes = valid_input_sizes(windows, rule)
    assert sizes.between(1, 300) == brute_force_sizes(windows, rule, 300)


@pytest.mark.parametrize(
    ("windows", "rule", "form"),
    [
        ([Window(3, 2, padding=(1, 1))] * 5, "exact", "32k+1"),  # DeepLab: 513, 321, ...
        ([Window(2, 2)] * 5, "exact", "32k"),
        ([Window(7, 2, padding=(3, 3)), Window(3, 2, padding=(1, 1))], "no-drop", "every n >= 1"),
        ([Window(3, 2)], "no-drop", "2k+1 (n >= 3)"),
    ],
)
def test_closed_forms(windows: list[Window], rule: str, form: str) -> None:
    assert valid_input_sizes(windows, rule).closed_form() == form


def test_size_set_nearest() -> None:
    sizes = SizeSet(period=32, residues=(1,), minimum=1)
    assert sizes.nearest(500) == 513
    assert sizes.nearest(224) == 225
