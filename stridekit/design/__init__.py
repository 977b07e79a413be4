"""Design help: the input sizes a model accepts (and, later, stride plans)."""

from stridekit.design.sizes import model_valid_sizes

__all__ = ["model_valid_sizes"]
