"""Design help: the input sizes a model accepts (and, later, stride plans)."""

from stridekit.design.adapt import Adaptation, adapt_size
from stridekit.design.sizes import model_valid_sizes

__all__ = ["Adaptation", "adapt_size", "model_valid_sizes"]
