"""Design help: stride plans, and fitting images to the input sizes a model accepts."""

from stridekit.design.adapt import Adaptation, Adaptations, adapt_images, adapt_size
from stridekit.design.sizes import ModelSizes, model_sizes
from stridekit.passes.sizes import model_valid_sizes

__all__ = [
    "Adaptation",
    "Adaptations",
    "ModelSizes",
    "adapt_images",
    "adapt_size",
    "model_sizes",
    "model_valid_sizes",
]
