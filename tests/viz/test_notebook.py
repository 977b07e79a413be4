"""In Jupyter every result shows itself: analyses and doctor reports as HTML tables, and
every picture as SVG or an embedded PNG (`_repr_svg_`, `_repr_html_`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from torch import nn

from stridekit import analyze, doctor
from stridekit.viz import (
    Picture,
    animate_conv,
    draw_coverage,
    draw_field,
    draw_model_coverage,
    draw_network,
)

SPEC = "stridekit/examples/specs/resnet_stem.yaml"

PICTURES: dict[str, Callable[[], Picture]] = {
    "animation": lambda: animate_conv((4, 4), 3, padding=1),
    "coverage": lambda: draw_coverage((8, 8), 3, stride=2),
    "model_coverage": lambda: draw_model_coverage(SPEC, layers=2),
    "field": lambda: draw_field(nn.Conv2d(3, 1, 3), (1, 3, 12, 12), layer="", effective=False),
    "network": lambda: draw_network(SPEC),
}


def test_analysis_and_doctor_report_show_as_tables() -> None:
    analysis = analyze(SPEC)
    assert analysis._repr_html_().startswith("<table>")
    assert "<table>" in doctor(analysis)._repr_html_() or "<pre>" in doctor(analysis)._repr_html_()


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_show_themselves(name: str) -> None:
    picture = PICTURES[name]()
    html = picture._repr_html_()
    svg = picture._repr_svg_()
    assert svg is not None and svg.startswith("<svg") and svg in html
    assert " ".join(str(picture).split()) == picture.summary()
