"""Design help: stride plans, and fitting images to the input sizes a model accepts."""

from stridekit.design.adapt import Adaptation, adapt_size
from stridekit.passes.sizes import model_valid_sizes

__all__ = ["Adaptation", "adapt_size", "model_valid_sizes"]
