"""The bounds of the explorer: how large a request may be and how long it may take.

The library bounds what it can compute (`stridekit.geometry.limits`: 2^20 pixels per
axis); a server that answers anyone on the machine bounds more tightly, so one request
cannot hold a worker or the memory for long. Every value here is a `stridekit serve`
option; a request past one gets a 4xx with a message that names the bound.

>>> limits = Limits()
>>> limits.check_model_shape((1, 3, 224, 224))
(1, 3, 224, 224)
>>> limits.check_model_shape((1, 3, 100000, 224))
Traceback (most recent call last):
...
stridekit.errors.SizeError: input shape (1, 3, 100000, 224): spatial size 100,000 is beyond 8,192, the largest the explorer analyses (stridekit serve --max-model-size)
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass

from stridekit.errors import SizeError, UsageError

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one request may ask for (sizes, text, files, time) and the server's capacity
    (workers, queue, cache)."""

    max_layer_size: int = 1 << 16  # pixels per axis for /api/shape and /api/solve
    max_picture_size: int = 64  # pixels per axis drawn by the layer tab's window picture
    max_model_size: int = 8192  # pixels per spatial axis of a model input
    max_batch: int = 64
    max_channels: int = 4096
    max_spatial_axes: int = 3
    max_spec_bytes: int = 64 * 1024
    max_spec_nodes: int = 20_000  # mappings, lists and scalars in a parsed spec
    max_upload_bytes: int = 64 * MIB  # a model file (weights included: ResNet-50 is 98 MiB)
    max_uploads: int = 4  # model files kept in memory to refer to by id
    max_kernel: int = 64  # solve's search and plan's dilations
    max_dilation: int = 16
    max_solutions: int = 1000
    max_span: int = 1 << 16  # the width of a sizes range
    max_plan_layers: int = 64
    max_top: int = 20
    time_limit_s: float = 60.0  # per request that runs in a worker
    workers: int = 1
    queue: int = 16  # requests waiting for a worker, beyond those running
    cache_entries: int = 128

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise UsageError(f"serve: {name.replace('_', '-')} must be positive, got {value}")

    @property
    def max_body_bytes(self) -> int:
        """The largest request body: an upload with its multipart envelope."""
        return self.max_upload_bytes + 64 * 1024

    def check_model_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(N, C, *spatial)`` within the bounds, else a `SizeError` naming the bound."""
        text = f"input shape {tuple(shape)}"
        if not 3 <= len(shape) <= 2 + self.max_spatial_axes:
            raise UsageError(
                f"{text}: give N, C and 1 to {self.max_spatial_axes} spatial sizes, "
                "e.g. 1x3x224x224"
            )
        if any(value < 1 for value in shape):
            raise SizeError(f"{text}: every size must be >= 1")
        batch, channels, *spatial = shape
        bounds = [("batch", batch, self.max_batch, "max-batch")]
        bounds.append(("channels", channels, self.max_channels, "max-channels"))
        bounds += [("spatial size", n, self.max_model_size, "max-model-size") for n in spatial]
        for what, value, bound, option in bounds:
            if value > bound:
                raise SizeError(
                    f"{text}: {what} {value:,} is beyond {bound:,}, the largest the explorer "
                    f"analyses (stridekit serve --{option})"
                )
        return tuple(shape)
