"""Pictures of stride: animations, coverage maps, receptive-field overlays, network
diagrams, and the report's plots. Headless (matplotlib without pyplot, Pillow, plain SVG)
and deterministic: the same input gives the same bytes.

Each picture is a result (`Picture`) that holds what it draws (`to_dict`), saves itself
(``.gif``/``.svg``/``.html``/``.png`` from the suffix, never a half-written file) and
shows itself in Jupyter. Plotting code lives only here, so the report, the CLI and the
README share it. Nothing here is imported until used: reading a store needs no
matplotlib, drawing an op needs no torch.
"""

from stridekit.viz.animation import ConvAnimation, Frame, animate_conv
from stridekit.viz.coverage import CoverageMap, draw_coverage, draw_model_coverage
from stridekit.viz.field import FieldOverlay, draw_field
from stridekit.viz.figure import Picture, Saved
from stridekit.viz.network import NetworkStory, draw_network, network_story
from stridekit.viz.plots import Point, scatter_svg

__all__ = [
    "ConvAnimation",
    "CoverageMap",
    "FieldOverlay",
    "Frame",
    "NetworkStory",
    "Picture",
    "Point",
    "Saved",
    "animate_conv",
    "draw_coverage",
    "draw_field",
    "draw_model_coverage",
    "draw_network",
    "network_story",
    "scatter_svg",
]
