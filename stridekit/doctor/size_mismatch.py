"""The doctor's answer when a model cannot run at the size asked (``size-mismatch``).

`stridekit.analysis.analyze` raises `MergeSizeError` when a forward fails in a merge of
branches of unequal sizes, answered from a nearby size that runs
(`stridekit.size_failure`). The doctor reports it as one error finding instead of
failing: the merge, its branches' sizes, the valid sizes and the nearest ones, and the
cheapest way to get there (`stridekit.geometry.adapt.adapt_size`, as ``stridekit adapt`` says).
"""

from __future__ import annotations

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.report import Report
from stridekit.errors import MergeSizeError
from stridekit.geometry.adapt import adapt_size
from stridekit.size_failure import SizeFailure

CODE = "size-mismatch"


def _fix(failure: SizeFailure) -> str:
    valid = [v for v in failure.valid if v is not None]
    if len(valid) != len(failure.valid):
        return "use an input size at which the merged branches are equal (`stridekit sizes`)"
    image = failure.input_shape[2:]
    choice = adapt_size(image, valid)
    options = []
    for word, side in (("crop to", 0), ("pad to", 1)):
        sizes = [
            n if n in v else failure.nearest(a)[side]
            for a, (n, v) in enumerate(zip(image, valid, strict=True))
        ]
        if None not in sizes:
            options.append(f"{word} {'x'.join(map(str, sizes))}")
    resampled = " resampled" if choice.action == "resize" else ""
    return (
        f"{' or '.join(options)}; the cheapest: {choice.action} to "
        f"{'x'.join(map(str, choice.target))} ({choice.pixels:,} pixels{resampled}), "
        "as `stridekit adapt` says"
    )


def size_mismatch_report(error: MergeSizeError, model: str) -> Report:
    """The report of a model whose forward fails in a merge at the size asked: one
    error finding (exit status 1), with the numbers in its data."""
    failure = error.explanation
    if not isinstance(failure, SizeFailure):
        finding = Finding(
            CODE,
            Severity.error,
            error.module or "the top-level forward",
            str(error),
            "use an input size at which the merged branches are equal (`stridekit sizes`)",
            {"sizes": [list(s) for s in error.sizes]},
        )
    else:
        finding = Finding(
            CODE, Severity.error, failure.merge, failure.line(), _fix(failure), failure.to_dict()
        )
    return Report((finding,), model, error.input_shape)
