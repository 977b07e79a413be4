"""Fitting images to a model's valid sizes: the cheapest action, and refused images."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stridekit.design import adapt_size
from stridekit.errors import SizeError
from stridekit.geometry import SizeSet

SQUARE_32 = SizeSet(period=32, residues=(0,), minimum=32)


@pytest.mark.parametrize("image", [(0, 0), (224, 0), (2**20 + 1, 224)])
def test_images_outside_the_size_range_are_refused(image: tuple[int, int]) -> None:
    with pytest.raises(SizeError):
        adapt_size(image, [SQUARE_32, SQUARE_32])


def test_a_model_that_accepts_no_size_says_so() -> None:
    nothing = SizeSet(period=2, residues=(), minimum=1)
    with pytest.raises(SizeError, match="accepts none"):
        adapt_size((224, 224), [nothing, nothing])


def _area(shape: tuple[int, ...]) -> int:
    return shape[0] * shape[1]


@settings(max_examples=100, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300))
def test_the_choice_is_the_cheapest_valid_target(height: int, width: int) -> None:
    valid = [SQUARE_32, SizeSet(period=16, residues=(8,), minimum=24)]
    choice = adapt_size((height, width), valid)
    assert all(n in s for n, s in zip(choice.target, valid, strict=True))
    # the reference: every valid target up to one period away, priced as the docstring says
    image_area = height * width
    members = [
        s.between(1, n + 2 * s.period + s.minimum)
        for n, s in zip((height, width), valid, strict=True)
    ]
    costs = []
    for h in members[0]:
        for w in members[1]:
            if h >= height and w >= width:
                costs.append(_area((h, w)) - image_area)  # pad
            if h <= height and w <= width:
                costs.append(image_area - _area((h, w)))  # crop
    nearest = tuple(s.nearest(n) for n, s in zip((height, width), valid, strict=True))
    costs.append(_area(nearest))  # resize to the nearest on each axis
    if choice.action == "none":
        assert choice.pixels == 0 and choice.target == (height, width)
    else:
        assert choice.pixels == min(costs)
