"""Pictures of stride: the report's plots (headless, deterministic SVG with hover text).

Plotting code lives only here, so the report, the web page and the pictures issue share
it. Plots take plain data (`Point`s), never a store or a model.
"""

from stridekit.viz.plots import Point, scatter_svg

__all__ = ["Point", "scatter_svg"]
