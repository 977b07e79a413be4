"""Planner presets: task constraints and template families."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from stridekit.design.detection import detection_constraints
from stridekit.design.plan import Constraints, Layer
from stridekit.errors import ChoiceError, SpecError, UsageError
from stridekit.geometry.limits import check_size
from stridekit.objects import ObjectSizes

TASKS = ("classification", "segmentation", "detection", "small-objects")
# Szegedy et al. 2016: prefer that no layer shrinks C·H·W by more than this (a stride of 2
# where the channels at least double). Every task preset prefers it: a preference, not a
# limit, since a target may need more downsampling than the channels grow (VGG16 at
# stride 32); the plans with the fewest layers over it, as late as possible, come first
PREFERRED_VOLUME_DROP = Fraction(2)


def task_constraints(task: str, input_size: int, objects: ObjectSizes | None = None) -> Constraints:
    """Constraints of a task preset for an input of ``input_size`` pixels; for detection
    with ``objects`` (sizes in pixels), the levels that serve them
    (`stridekit.design.detection`) instead of the fixed 8, 16, 32.

    >>> task_constraints("classification", 224).output_stride
    32
    >>> task_constraints("detection", 512).levels
    (8, 16, 32)
    >>> task_constraints("classification", 224).preferred_volume_drop
    Fraction(2, 1)
    >>> from stridekit.objects import parse_objects
    >>> task_constraints("detection", 640, parse_objects("8:256")).levels
    (4, 8, 16, 32, 64, 128)
    """
    drop = PREFERRED_VOLUME_DROP
    if objects is not None and task != "detection":
        raise UsageError(
            f"--objects plans the pyramid levels of a detector; use --task detection, not {task}"
        )
    if objects is not None:
        return detection_constraints(
            objects, input_size, base=Constraints(preferred_volume_drop=drop)
        )
    if task == "classification":  # stride 32 and a field that covers the image
        return Constraints(output_stride=32, min_rf=input_size, preferred_volume_drop=drop)
    if task == "segmentation":  # stride 8 with dilation to keep the field
        return Constraints(output_stride=8, dilations=(1, 2, 4), preferred_volume_drop=drop)
    if task == "detection":  # a feature pyramid at strides 8, 16, 32
        return Constraints(output_stride=32, levels=(8, 16, 32), preferred_volume_drop=drop)
    if task == "small-objects":  # keep detail: stride 8, space-to-depth downsampling
        return Constraints(output_stride=8, space_to_depth=True, preferred_volume_drop=drop)
    raise ChoiceError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def with_overrides(base: Constraints, **overrides: Any) -> Constraints:
    """Replace the fields given (None leaves the preset's value)."""
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def with_volume_drop(base: Constraints, limit: Fraction | None) -> Constraints:
    """A volume-drop limit the user gave: a number is a hard limit (the preset's
    preference still ranks the plans within it); None (``off``) lifts the limit and the
    preference, for the cheapest plan.

    >>> preset = task_constraints("classification", 224)
    >>> hard = with_volume_drop(preset, Fraction(4))
    >>> hard.max_volume_drop, hard.preferred_volume_drop
    (Fraction(4, 1), Fraction(2, 1))
    >>> off = with_volume_drop(preset, None)
    >>> off.max_volume_drop, off.preferred_volume_drop
    (None, None)
    """
    if limit is None:
        return replace(base, max_volume_drop=None, preferred_volume_drop=None)
    return replace(base, max_volume_drop=limit)


VGG16 = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
RESNET18 = [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4


def family(name: str) -> list[Layer]:
    """A template family: ``vgg16``, ``resnet18`` (its main path) or ``plainN``.

    >>> len(family("vgg16")), family("plain4")
    (13, [Layer(kernel=3, channels=32), Layer(kernel=3, channels=64), Layer(kernel=3, channels=128), Layer(kernel=3, channels=256)])
    """  # noqa: E501
    if name == "vgg16":
        return [Layer(3, c) for c in VGG16]
    if name == "resnet18":
        return [Layer(7, 64)] + [Layer(3, c) for c in RESNET18[1:]]
    if name.startswith("plain") and name[5:].isdigit() and int(name[5:]) > 0:
        count = int(name[5:])
        # channels double four times over the depth: 32 → 512
        return [Layer(3, 32 * 2 ** min(4, i * 5 // count)) for i in range(count)]
    raise ChoiceError(
        f"unknown template family {name!r}; use vgg16, resnet18 or plainN (e.g. plain20)"
    )


def load_template(path: str | Path) -> tuple[list[Layer], int]:
    """Conv layers (kernel, channels) of a spec file, and its input channels."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"template {path} does not exist")
    try:
        data = yaml.safe_load(file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
        raise SpecError(f"template {path} cannot be read: {reason}") from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise SpecError(f"template {path}: expected a mapping with a 'layers' list")
    layers = []
    for i, item in enumerate(data["layers"]):
        if not isinstance(item, dict) or item.get("type", "conv") != "conv":
            continue  # the planner places strides on convolutions only
        try:
            kernel = item["kernel"]
            kernel, channels = (
                int(kernel[0] if isinstance(kernel, list) else kernel),
                int(item["channels"]),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise SpecError(
                f"template {path}: layer {i} needs an integer 'kernel' and 'channels'"
            ) from None
        what = f"template {path}: layer {i}"
        layers.append(Layer(check_size(kernel, f"{what} kernel"), check_size(channels, what)))
    shape = data.get("input", [1, 3])
    if not isinstance(shape, list) or len(shape) < 2:
        return layers, 3
    try:
        channels = int(shape[1])
    except (TypeError, ValueError):
        raise SpecError(f"template {path}: 'input' must list integers, got {shape}") from None
    return layers, check_size(channels, f"template {path}: input channels")
