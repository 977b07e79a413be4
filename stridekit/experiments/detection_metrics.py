"""Detection metrics by object size: decoding CenterNet's map, matching, recall and AP.

Decoding (CenterNet): the heatmap's peaks are the cells equal to the 3x3 max-pool of the
heatmap (the paper's NMS), the ``TOP_K`` best of each image kept, each giving the box
centred at ``(cell + offset) · R`` with size ``exp(log size)``.

Matching (PASCAL VOC, COCO): detections of an image in order of score, each takes the
unmatched true box it overlaps most if that IoU is ≥ ``IOU`` (0.5).

By size: an object's size is ``√(w·h)`` (its side, for the generated squares), and the
buckets are octaves, ``[4, 8)``, ``[8, 16)``, ``[16, 32)``, ``[32, 64]``. A bucket's
*recall* is the fraction of its objects matched by one of the top-``TOP_K`` detections
(COCO's average recall at k detections, at one IoU). Its *AP* is COCO's by area range:
the objects of the bucket are the positives, a detection matched to one of them is a
true positive, an unmatched detection whose own size is in the bucket a false positive,
any other detection is ignored; AP is the area under the precision-recall curve with
precision made monotone (all-point interpolation, VOC 2010 onwards).

>>> truth = torch.tensor([[[0.0, 0.0, 12.0, 12.0]]])
>>> shifted = torch.tensor([[[4.0, 0.0, 16.0, 12.0]]])   # IoU (12-4)/(12+4) = 0.5
>>> scores = evaluate_boxes(shifted, torch.ones(1, 1), truth)
>>> scores["recall_8_16"], scores["ap_8_16"], scores["recall_4_8"]
(1.0, 1.0, None)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["BUCKETS", "IOU", "TOP_K", "average_precision", "box_iou", "bucket_of"]
__all__ += ["decode", "evaluate_boxes", "evaluate_detections", "metric_names"]

BUCKETS: tuple[tuple[int, int], ...] = ((4, 8), (8, 16), (16, 32), (32, 64))
IOU = 0.5
TOP_K = 20


def metric_names() -> list[str]:
    """Every name `evaluate_boxes` fills: ``recall_LO_HI`` and ``ap_LO_HI`` per bucket,
    then ``recall`` and ``ap`` over all objects.

    >>> metric_names()[:2], metric_names()[-2:]
    (['recall_4_8', 'ap_4_8'], ['recall', 'ap'])
    """
    names = [f"{kind}_{lo}_{hi}" for lo, hi in BUCKETS for kind in ("recall", "ap")]
    return [*names, "recall", "ap"]


def bucket_of(size: float) -> int | None:
    """The index of the bucket an object of ``size`` pixels falls in (the last includes
    its upper end), or None outside them all.

    >>> bucket_of(4.0), bucket_of(7.9), bucket_of(64.0), bucket_of(3.0)
    (0, 0, 3, None)
    """
    for index, (lo, hi) in enumerate(BUCKETS):
        if lo <= size < hi or (index == len(BUCKETS) - 1 and size == hi):
            return index
    return None


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box of ``a`` ``(P, 4)`` with every box of ``b`` ``(Q, 4)``.

    >>> box_iou(torch.tensor([[0.0, 0, 2, 2]]), torch.tensor([[1.0, 0, 3, 2]])).tolist()
    [[0.3333333432674408]]
    """
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-9)


def decode(
    output: torch.Tensor, image_size: tuple[int, int], top_k: int = TOP_K
) -> tuple[torch.Tensor, torch.Tensor]:
    """CenterNet's ``output`` ``(N, 5, rows, cols)`` → boxes ``(N, k, 4)`` in pixels and
    scores ``(N, k)``, best first (``k`` = ``top_k`` or the cells there are).

    >>> import math
    >>> output = torch.full((1, 5, 4, 4), -9.0); output[:, 1:] = 0.0
    >>> output[0, 0, 1, 2] = 5.0; output[0, 3:, 1, 2] = math.log(8.0)
    >>> boxes, scores = decode(output, (32, 32), top_k=1)
    >>> boxes.tolist()   # cell (1, 2) at stride 8: centre (16, 8), 8 px wide
    [[[12.0, 4.0, 20.0, 12.0]]]
    """
    rows, cols = output.shape[-2:]
    stride_y, stride_x = image_size[0] / rows, image_size[1] / cols
    heat = torch.sigmoid(output[:, 0].float())
    peaks = heat * (heat == F.max_pool2d(heat[:, None], 3, 1, 1)[:, 0])
    scores, index = peaks.flatten(1).topk(min(top_k, rows * cols), dim=1)
    row, col = index // cols, index % cols
    # offset x, offset y, log w, log h at the peaks: (4, N, k)
    fields = output[:, 1:].float().flatten(2).gather(2, index[:, None].expand(-1, 4, -1))
    fields = fields.transpose(0, 1)
    centre_x = (col + fields[0]) * stride_x
    centre_y = (row + fields[1]) * stride_y
    half_w, half_h = fields[2].exp() / 2, fields[3].exp() / 2
    boxes = torch.stack(
        [centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], -1
    )
    return boxes, scores


def _sizes(boxes: torch.Tensor) -> torch.Tensor:
    """``√(w·h)`` of each box ``(P, 4)``."""
    width = (boxes[:, 2] - boxes[:, 0]).clamp(min=0)
    return (width * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)).sqrt()


def evaluate_boxes(
    boxes: torch.Tensor, scores: torch.Tensor, truth: torch.Tensor, iou: float = IOU
) -> dict[str, float | None]:
    """Recall and AP per size bucket and over all objects (see the module) for predicted
    ``boxes`` ``(N, k, 4)`` with ``scores`` ``(N, k)`` against true boxes ``(N, K, 4)``
    (rows of -1: no object). A bucket without objects gets None."""
    # each detection: (score, the bucket of its own size, the bucket of the object it
    # matched); -1 for no bucket, None for no match
    found: list[tuple[float, int, int | None]] = []
    counts = [0] * len(BUCKETS)
    hits = [0] * len(BUCKETS)
    total = 0
    for image_boxes, image_scores, image_truth in zip(boxes, scores, truth, strict=True):
        real = image_truth[image_truth[:, 2] > image_truth[:, 0]]
        buckets = [bucket_of(float(s)) for s in _sizes(real)]
        total += len(real)
        for bucket in buckets:
            if bucket is not None:
                counts[bucket] += 1
        overlaps = box_iou(image_boxes.float(), real.float()) if len(real) else None
        taken = [False] * len(real)
        for d in torch.argsort(image_scores, descending=True, stable=True).tolist():
            match = None
            if overlaps is not None:
                for t in torch.argsort(overlaps[d], descending=True, stable=True).tolist():
                    if overlaps[d, t] < iou:
                        break
                    if not taken[t]:
                        match = t
                        break
            if match is not None:
                taken[match] = True
                bucket = buckets[match]
                if bucket is not None:
                    hits[bucket] += 1
                found.append((float(image_scores[d]), -1, -1 if bucket is None else bucket))
            else:
                own = bucket_of(float(_sizes(image_boxes[d : d + 1].float())[0]))
                found.append((float(image_scores[d]), -1 if own is None else own, None))
    result: dict[str, float | None] = {}
    for index, (lo, hi) in enumerate(BUCKETS):
        present = counts[index] > 0
        result[f"recall_{lo}_{hi}"] = hits[index] / counts[index] if present else None
        ranked = [
            (score, match == index)
            for score, own, match in found
            if match == index or (match is None and own == index)
        ]
        result[f"ap_{lo}_{hi}"] = average_precision(ranked, counts[index]) if present else None
    matched = sum(1 for _, _, m in found if m is not None)
    result["recall"] = matched / total if total else None
    everything = [(score, match is not None) for score, _, match in found]
    result["ap"] = average_precision(everything, total) if total else None
    return result


def average_precision(ranked: Sequence[tuple[float, bool]], positives: int) -> float:
    """All-point interpolated AP of detections ``(score, is a true positive)`` against
    ``positives`` objects: the sum over recall steps of the best precision at that
    recall or beyond.

    >>> average_precision([(0.9, True), (0.8, False), (0.7, True)], 2)   # 1·½ + ⅔·½
    0.8333333333333333
    """
    order = sorted(ranked, key=lambda item: -item[0])
    precision, recall = [], []
    tp = 0
    for rank, (_, hit) in enumerate(order, 1):
        tp += hit
        precision.append(tp / rank)
        recall.append(tp / positives)
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    area, previous = 0.0, 0.0
    for p, r in zip(precision, recall, strict=True):
        area += (r - previous) * p
        previous = r
    return area


def evaluate_detections(
    output: torch.Tensor, truth: torch.Tensor, image_size: tuple[int, int]
) -> dict[str, float | None]:
    """`evaluate_boxes` of the decoded ``output`` of a CenterNet model."""
    boxes, scores = decode(output, image_size)
    return evaluate_boxes(boxes, scores, truth)
