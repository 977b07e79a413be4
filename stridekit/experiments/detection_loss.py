"""CenterNet's training targets and loss (Zhou, Wang and Krähenbühl, "Objects as
Points", 2019).

An object whose centre ``c`` (pixels) falls at ``p = c / R`` on a map of output stride
``R`` has its peak at the cell ``⌊p⌋``: a Gaussian of that cell, ``σ = (2r + 1) / 6``
where ``r`` is CornerNet's radius for a box of the object's size in cells (boxes whose
corners move by ``r`` keep IoU ≥ 0.7), cut at ``r`` cells, the maximum taken where two
overlap. The loss is the penalty-reduced focal loss on the heatmap (``α = 2, β = 4``),
normalised by the number of objects, plus L1 on the offset ``p − ⌊p⌋`` and on the size
at the peak cell. One departure from the paper: the size is regressed as ``log w, log h``
(pixels) with weight 1, not raw pixels with weight 0.1, so objects of 4 and 64 px weigh
alike.

>>> boxes = torch.tensor([[[8.0, 8.0, 16.0, 16.0], [-1.0, -1.0, -1.0, -1.0]]])
>>> heat, cells, regression, _ = centernet_targets(boxes, (8, 8), stride=4)
>>> heat.shape, cells.tolist(), regression.tolist()   # centre 12 px: cell 3, offset 0
(torch.Size([1, 8, 8]), [[0, 3, 3]], [[0.0, 0.0, 2.079441547393799, 2.079441547393799]])
>>> float(heat[0, 3, 3]), float(heat[0, 0, 0])
(1.0, 0.0)
"""

from __future__ import annotations

import math

import torch

__all__ = ["centernet_loss", "centernet_targets", "focal_loss", "gaussian_radius"]

MIN_OVERLAP = 0.7  # CenterNet's IoU for the Gaussian's radius
ALPHA, BETA = 2.0, 4.0  # the focal loss's exponents (CornerNet, CenterNet)


def gaussian_radius(height: float, width: float, min_overlap: float = MIN_OVERLAP) -> float:
    """CornerNet's radius: the largest corner shift that keeps IoU ≥ ``min_overlap``,
    the least of its three cases (both corners in, both out, one each), as in
    CenterNet's code.

    >>> round(gaussian_radius(10.0, 10.0), 3)
    2.733
    """
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def centernet_targets(
    boxes: torch.Tensor, grid: tuple[int, int], stride: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For ``boxes`` ``(N, K, 4)`` (rows of -1: no object) on a ``grid`` (rows, columns)
    at ``stride``: the heatmap ``(N, rows, cols)``, each object's peak ``(image, row,
    column)`` ``(M, 3)``, its regression targets ``(dx, dy, log w, log h)`` ``(M, 4)``
    and the number of objects per image ``(N,)``."""
    rows, cols = grid
    valid = boxes[..., 2] > boxes[..., 0]
    image = valid.nonzero()[:, 0]
    kept = boxes[valid]  # (M, 4)
    width, height = kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]
    centre_x = (kept[:, 0] + kept[:, 2]) / 2 / stride
    centre_y = (kept[:, 1] + kept[:, 3]) / 2 / stride
    cell_x = centre_x.floor().clamp(0, cols - 1)
    cell_y = centre_y.floor().clamp(0, rows - 1)
    radius = torch.tensor(
        [
            max(0, int(gaussian_radius(float(h) / stride, float(w) / stride)))
            for h, w in zip(height.tolist(), width.tolist(), strict=True)
        ],
        dtype=boxes.dtype,
        device=boxes.device,
    )
    sigma = (2 * radius + 1) / 6
    ys = cell_y.new_tensor(range(rows)).view(1, rows, 1) - cell_y.view(-1, 1, 1)
    xs = cell_x.new_tensor(range(cols)).view(1, 1, cols) - cell_x.view(-1, 1, 1)
    gauss = torch.exp(-(xs**2 + ys**2) / (2 * sigma.view(-1, 1, 1) ** 2))
    near = (xs.abs() <= radius.view(-1, 1, 1)) & (ys.abs() <= radius.view(-1, 1, 1))
    gauss = torch.where(near, gauss, torch.zeros_like(gauss))
    heat = torch.zeros(boxes.shape[0], rows, cols, dtype=boxes.dtype, device=boxes.device)
    flat = gauss.reshape(len(image), -1)
    heat.view(len(heat), -1).scatter_reduce_(0, image.view(-1, 1).expand_as(flat), flat, "amax")
    cells = torch.stack([image, cell_y.long(), cell_x.long()], dim=1)
    regression = torch.stack(
        [centre_x - cell_x, centre_y - cell_y, width.log(), height.log()], dim=1
    )
    return heat, cells, regression, valid.sum(1)


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, summed and divided by the number of peaks
    (cells where the target is 1; at least 1).

    >>> target = torch.tensor([[1.0, 0.0]])
    >>> float(focal_loss(torch.tensor([[20.0, -20.0]]), target)) < 1e-6
    True
    """
    probability = torch.sigmoid(logits.float()).clamp(1e-4, 1 - 1e-4)
    peaks = target.eq(1).float()
    positive = torch.log(probability) * (1 - probability) ** ALPHA * peaks
    negative = torch.log(1 - probability) * probability**ALPHA * (1 - target) ** BETA * (1 - peaks)
    return -(positive.sum() + negative.sum()) / peaks.sum().clamp(min=1)


def centernet_loss(
    output: torch.Tensor, boxes: torch.Tensor, image_size: tuple[int, int]
) -> torch.Tensor:
    """The focal loss on the heatmap plus L1 on offsets and log sizes at the peaks, for a
    model's ``output`` ``(N, 5, rows, cols)``, the images' ``boxes`` ``(N, K, 4)`` and the
    images' size (rows, columns): the stride is the images' height over the map's.

    >>> boxes = torch.tensor([[[8.0, 8.0, 16.0, 16.0]]])
    >>> heat, cells, regression, _ = centernet_targets(boxes, (8, 8), stride=4)
    >>> perfect = torch.full((1, 5, 8, 8), -30.0)
    >>> perfect[0, 0] = torch.where(heat[0] == 1, 30.0, -30.0)
    >>> perfect[0, 1:, 3, 3] = regression[0]
    >>> float(centernet_loss(perfect, boxes, (32, 32))) < 1e-6
    True
    """
    rows, cols = output.shape[-2:]
    stride = image_size[0] / rows
    heat, cells, regression, _ = centernet_targets(boxes.float(), (rows, cols), stride)
    loss = focal_loss(output[:, 0], heat)
    if len(cells):
        predicted = output[cells[:, 0], 1:, cells[:, 1], cells[:, 2]].float()
        loss = loss + (predicted - regression).abs().sum(1).mean()
    return loss
