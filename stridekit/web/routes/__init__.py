"""The explorer's HTTP routes, one file per tab (and the pages themselves)."""

from stridekit.web.routes import experiments, layer, model, pages

__all__ = ["experiments", "layer", "model", "pages"]
