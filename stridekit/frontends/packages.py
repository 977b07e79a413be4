"""Model references to packages users already have: Ultralytics and Hugging Face.

==============================  =========================================================
``ultralytics:yolov8n.yaml``    ``ultralytics.YOLO("yolov8n.yaml").model``: any model yaml
                                the package ships (detect, segment, pose...), no weights
``hf:ClassName``                ``transformers.ClassName(ClassName.config_class(**config))``:
                                the class's default config, changed by ``config`` pairs
==============================  =========================================================

Both build from a configuration, never from weights, and neither touches the network
(no hub access). Both packages are optional extras (``stridekit[ultralytics]``,
``stridekit[hf]``): a missing one is one line that says which to install.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from stridekit.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["build_hf", "build_ultralytics", "require"]

YAML_SUFFIXES = (".yaml", ".yml")


def require(reference: str, package: str, extra: str) -> ModuleType:
    """The optional ``package`` that ``reference`` needs, or a `ModelError` naming the
    extra that installs it.

    >>> require("torchvision:resnet18", "no_such_zoo", "vision")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: torchvision:resnet18: no_such_zoo is not installed: pip install 'stridekit[vision]'
    """  # noqa: E501
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ModelError(
            f"{reference}: {package} is not installed: pip install 'stridekit[{extra}]'"
        ) from None


def build_ultralytics(reference: str, name: str) -> tuple[nn.Module, tuple[int, ...]]:
    """The model a YOLO yaml describes, with fresh weights, and its default input (640²).

    >>> build_ultralytics("ultralytics:yolov8n.pt", "yolov8n.pt")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: ultralytics:yolov8n.pt: give a model yaml the package ships, e.g. ultralytics:yolov8n.yaml (stridekit never loads weights)
    """  # noqa: E501
    if not name.lower().endswith(YAML_SUFFIXES):
        stem = name.rsplit(".", 1)[0] if "." in name else name
        raise ModelError(
            f"{reference}: give a model yaml the package ships, e.g. ultralytics:"
            f"{stem or 'yolov8n'}.yaml (stridekit never loads weights)"
        )
    with _settings_kept():
        YOLO = require(reference, "ultralytics", "ultralytics").YOLO
    try:
        model = cast("nn.Module", YOLO(name, verbose=False).model)
    except FileNotFoundError:
        raise ModelError(
            f"{reference}: ultralytics ships no model yaml {name!r} (e.g. yolov8n.yaml, "
            "yolo11n.yaml, yolo11n-seg.yaml; see ultralytics/cfg/models)"
        ) from None
    except Exception as error:
        raise ModelError(
            f"{reference}: building it failed: {type(error).__name__}: {error}"
        ) from None
    return model, (1, 3, 640, 640)


@contextlib.contextmanager
def _settings_kept() -> Iterator[None]:
    """Put back what importing ultralytics changes for the whole process: numpy's and
    torch's print options, a few environment variables (the user's, not ours to set), and
    the functions it patches, ``torch.save`` and ``PIL.Image.open`` (whose patch tries to
    pip-install a HEIF plugin when a file is not an image).

    >>> import numpy as np
    >>> before = np.get_printoptions()["linewidth"]
    >>> with _settings_kept():
    ...     np.set_printoptions(linewidth=before + 245)
    >>> np.get_printoptions()["linewidth"] == before
    True
    """
    import numpy as np
    import torch

    numpy_options = np.get_printoptions()
    printing = torch._tensor_str.PRINT_OPTS
    torch_options = {
        name: getattr(printing, name)
        for name in ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")
    }
    environment = dict(os.environ)
    patched: list[tuple[object, str, object]] = [(torch, "save", torch.save)]
    with contextlib.suppress(ImportError):
        from PIL import Image

        patched.append((Image, "open", Image.open))
    try:
        yield
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
        np.set_printoptions(**numpy_options)
        torch.set_printoptions(**torch_options)
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)


def build_hf(
    reference: str,
    name: str,
    config: Mapping[str, Any] | None,
    build: Callable[[Callable[[], nn.Module]], nn.Module],
) -> tuple[nn.Module, tuple[int, ...] | None]:
    """A transformers model class built from its default config changed by ``config``
    (``build`` calls the constructor: on the meta device or not), and the input its
    config declares (``image_size``, ``num_channels``), if any.

    >>> build_hf("hf:segformer", "segformer", None, lambda f: f())
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: hf:segformer: transformers has no model class 'segformer'; did you mean SegformerModel? (give the class name, e.g. hf:SegformerForSemanticSegmentation)
    """  # noqa: E501
    transformers = require(reference, "transformers", "hf")
    cls = getattr(transformers, name, None) if name.isidentifier() else None
    config_class = getattr(cls, "config_class", None)
    if cls is None or config_class is None:
        raise ModelError(
            f"{reference}: transformers has no model class {name!r}{_close_class(name)} "
            "(give the class name, e.g. hf:SegformerForSemanticSegmentation)"
        )
    try:
        settings = config_class(**dict(config or {}))
    except Exception as error:
        raise ModelError(
            f"{reference}: its config {config_class.__name__} refused {dict(config or {})}: "
            f"{type(error).__name__}: {error}"
        ) from None
    try:
        model = build(lambda: cls(settings))
    except ModelError:
        raise
    except Exception as error:
        raise ModelError(
            f"{reference}: building it failed: {type(error).__name__}: {error}"
        ) from None
    size = getattr(settings, "image_size", None)
    channels = getattr(settings, "num_channels", 3)
    if isinstance(size, int):
        return model, (1, channels, size, size)
    if isinstance(size, list | tuple) and len(size) == 2:
        return model, (1, channels, int(size[0]), int(size[1]))
    return model, None


def _close_class(name: str) -> str:
    import difflib

    import transformers

    lowered = name.lower()
    names = [
        n
        for n in dir(transformers)
        if n.endswith("Model") and n[0].isupper() and not n.endswith("PreTrainedModel")
    ]
    matches = [n for n in names if n.lower().startswith(lowered)][:3] or difflib.get_close_matches(
        name, names, n=3, cutoff=0.6
    )
    return f"; did you mean {', '.join(matches)}?" if matches else ""
