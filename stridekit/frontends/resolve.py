"""Model references → the right frontend: a torch module to trace, or a graph.

========================  =============================================================
``torchvision:NAME``      ``torchvision.models.get_model(NAME, weights=None)``
``timm:NAME``             ``timm.create_model(NAME, pretrained=False)``
``ultralytics:NAME.yaml`` a YOLO model yaml the package ships (`frontends.packages`)
``hf:ClassName``          a transformers class from its default config (+ ``config``)
``pkg.module:factory``    ``factory()`` from an importable module (``factory`` may be a
                          dotted attribute, a class, or a module instance)
``path/to/file.py:name``  ``name()`` from that file (its folder is importable meanwhile)
``model.onnx``            `stridekit.frontends.onnx.load_onnx`
``model.tflite``          `stridekit.frontends.tflite.load_tflite` (read as data; shapes
                          channels-first, e.g. ``(1, 3, 224, 224)``)
``model.keras``, ``.h5``  `stridekit.frontends.keras.load_keras` (read as data)
``net.yaml`` / ``.json``  `stridekit.frontends.spec.load_spec`
``NAME``                  a torchvision model of that name, else a timm one
========================  =============================================================

Weights are never loaded (no download), and files that must be unpickled (``.pt``,
``.pth``, ``.pkl``, ``.ckpt``...) are refused: a pickle can run any code, and a state dict
has no architecture. Every failure is a `ModelError` that says what to do.

Zoo models (``torchvision:``, ``timm:``, bare names) are built with their parameters on
the meta device (`stridekit.frontends.torch_meta`): no weight is allocated or
initialised, which is all a meta trace needs: a 632M-parameter ViT-H builds in ~0.05 s
instead of ~20 s and allocates none of its 2.5 GB. ``device="cpu"`` (a trace on real
tensors) builds them with real, randomly initialised weights instead.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stridekit.errors import ModelError
from stridekit.frontends.packages import build_hf, build_ultralytics, require
from stridekit.graph import Graph

if TYPE_CHECKING:
    from torch import nn

Source = Literal[
    "torchvision", "timm", "ultralytics", "hf", "factory", "onnx", "tflite", "keras", "spec"
]
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
REFUSED_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".safetensors")
FORMS = (
    "torchvision:NAME, timm:NAME, ultralytics:NAME.yaml, hf:ClassName, "
    "package.module:factory, path/to/file.py:factory, model.onnx, model.tflite, model.keras, "
    "model.h5 or spec.yaml"
)
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Resolved:
    """What a reference named: a module to trace, or a graph already built.

    ``input_shape`` is the shape the source suggests (a spec's ``input``, an ONNX
    model's declared input, timm's ``pretrained_cfg``, torchvision's crop size), or
    None when it has no opinion.
    """

    reference: str
    source: Source
    module: nn.Module | None = None
    graph: Graph | None = None
    input_shape: tuple[int, ...] | None = None
    path: Path | None = None  # the ONNX, TFLite or spec file, to rebuild at another shape

    def to_graph(self, input_shape: tuple[int, ...] | None = None) -> Graph:
        """The graph at ``input_shape`` (default: the suggested one): traced or rebuilt.

        >>> resolved = resolve("stridekit/examples/specs/resnet_stem.yaml")
        >>> resolved.to_graph((1, 3, 64, 64)).output.output_shape
        (1, 1000)
        """
        shape = input_shape or self.input_shape
        if self.graph is not None and (shape is None or shape == self.graph.input_shape):
            return self.graph
        if self.path is not None:
            return _load_file(self.path, shape)[0]
        if self.module is None or shape is None:
            raise ModelError(f"{self.reference}: give an input shape, e.g. (1, 3, 224, 224)")
        from stridekit.frontends.torch import trace_torch

        return trace_torch(self.module, shape)


def resolve(
    reference: str,
    input_shape: tuple[int, ...] | None = None,
    *,
    device: str = "meta",
    config: Mapping[str, Any] | None = None,
) -> Resolved:
    """Resolve a model reference (see the module docstring for the forms).

    ``input_shape`` is used at once by ONNX files and specs; torch modules are traced
    later, by `Resolved.to_graph`. ``device`` is the one the module will be traced on:
    ``"meta"`` (the default) builds zoo models without weights, any other device with
    real ones. ``config``: settings for an ``hf:`` model's config (no other form takes
    any).

    >>> resolve("stridekit/examples/specs/fpn_small.yaml").graph.output.output_shape
    (1, 64, 64, 64)
    >>> resolve("torchvision:resnet18").module.fc.weight.is_meta
    True
    >>> resolve("torchvision:resnet18", device="cpu").module.fc.weight.is_meta
    False
    >>> resolve("torchvision:resnet51")
    Traceback (most recent call last):
    ...
    stridekit.errors.ModelError: unknown torchvision model 'resnet51'; did you mean resnet50, resnet18, resnet152? (torchvision.models.list_models() lists them all)
    """  # noqa: E501
    text = reference.strip()
    if not text:
        raise ModelError(f"empty model reference; give one of {FORMS}")
    prefix, colon, name = text.partition(":")
    if config and not (colon and prefix.lower() == "hf"):
        raise ModelError(f"{text}: config settings apply to hf:ClassName models only; drop them")
    if colon and prefix.lower() in ("ultralytics", "hf"):
        return _package(text, prefix.lower(), name, device, config)
    if colon and prefix.lower() == "torchvision":
        return _torchvision(text, name, device)
    if colon and prefix.lower() == "timm":
        return _timm(text, name, device)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise ModelError(
            f"{text}: stridekit never unpickles model files (a pickle can run any code, and "
            "weights alone have no architecture); export the model to ONNX "
            "(torch.onnx.export(model, example, 'model.onnx')) or give a factory, "
            "e.g. path/to/file.py:build_model"
        )
    if suffix in (".onnx", ".tflite") or suffix in SPEC_SUFFIXES or suffix in KERAS_SUFFIXES:
        graph, source = _load_file(path, input_shape)
        return Resolved(text, source, graph=graph, input_shape=graph.input_shape, path=path)
    target, colon, attribute = text.rpartition(":")
    if colon and target.lower().endswith(".py"):
        return _factory(text, _import_file(Path(target), text), attribute)
    if colon and _DOTTED.fullmatch(target):
        return _factory(text, _import_module(target, text), attribute)
    if suffix == ".py":
        raise ModelError(f"{text}: name the factory to call: {text}:{_callables(path)}")
    if _DOTTED.fullmatch(text.replace("-", "_")):
        return _bare_name(text, device)
    raise ModelError(f"cannot read model reference {text!r}; use {FORMS}")


def _load_file(path: Path, input_shape: tuple[int, ...] | None) -> tuple[Graph, Source]:
    if not path.is_file():
        raise ModelError(f"{path}: file not found")
    if path.suffix.lower() == ".onnx":
        from stridekit.frontends.onnx import load_onnx

        return load_onnx(path, input_shape), "onnx"
    if path.suffix.lower() == ".tflite":
        from stridekit.frontends.tflite import load_tflite

        return load_tflite(path, input_shape), "tflite"
    if path.suffix.lower() in KERAS_SUFFIXES:
        from stridekit.frontends.keras import load_keras

        return load_keras(path, input_shape), "keras"
    from stridekit.frontends.spec import load_spec

    return load_spec(path, input_shape), "spec"


def _close(name: str, names: list[str], prefix: str = "") -> str:
    matches = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(prefix + m for m in matches)}?" if matches else ""


def _build(reference: str, builder: Callable[[], nn.Module], device: str) -> nn.Module:
    """A zoo model: parameters on meta for a meta trace (see `torch_meta`), else real."""
    from stridekit.frontends.torch_meta import build_on_meta

    try:
        return build_on_meta(builder)[0] if device == "meta" else builder()
    except Exception as error:
        raise ModelError(
            f"{reference}: building it failed: {type(error).__name__}: {error}"
        ) from None


def _torchvision(reference: str, name: str, device: str) -> Resolved:
    torchvision = require(reference, "torchvision", "vision")
    names = torchvision.models.list_models()
    if name not in names:
        raise ModelError(
            f"unknown torchvision model {name!r}{_close(name, names)} "
            "(torchvision.models.list_models() lists them all)"
        )
    builder = torchvision.models.get_model_builder(name)
    options: dict[str, Any] = {"weights": None}
    if "weights_backbone" in inspect.signature(builder).parameters:
        options["weights_backbone"] = None  # segmentation and detection: no download either
    try:  # the crop (classification) or resize (segmentation) of its weights' preset
        preset = torchvision.models.get_model_weights(name).DEFAULT.transforms()
        crop = getattr(preset, "crop_size", None) or preset.resize_size
        size = (int(crop[0]), int(crop[-1]))
    except Exception:
        size = (224, 224)  # no weights, no preset: ImageNet's crop
    if builder.__module__.endswith("vision_transformer"):
        # a ViT's position embedding fixes its input size; torchvision's builder takes it
        # from the weights (ViT-H/14's published weights are at 518), so do we
        options["image_size"] = size[0]
    module = _build(reference, lambda: builder(**options), device)
    return Resolved(reference, "torchvision", module=module, input_shape=(1, 3, *size))


def _package(
    reference: str, package: str, name: str, device: str, config: Mapping[str, Any] | None
) -> Resolved:
    if package == "ultralytics":
        module, shape = build_ultralytics(reference, name)
        return Resolved(reference, "ultralytics", module=module, input_shape=shape)
    hf_module, hf_shape = build_hf(
        reference, name, config, lambda builder: _build(reference, builder, device)
    )
    return Resolved(reference, "hf", module=hf_module, input_shape=hf_shape)


def _timm(reference: str, name: str, device: str) -> Resolved:
    timm = require(reference, "timm", "vision")
    if not timm.is_model(name):
        raise ModelError(
            f"unknown timm model {name!r}{_close(name, timm.list_models())} "
            "(timm.list_models('*pattern*') searches them)"
        )
    module = _build(reference, lambda: timm.create_model(name, pretrained=False), device)
    config = getattr(module, "pretrained_cfg", None) or {}
    size = config.get("input_size")
    return Resolved(reference, "timm", module=module, input_shape=(1, *size) if size else None)


def _bare_name(name: str, device: str) -> Resolved:
    """``resnet18``: torchvision's model of that name, else timm's."""
    candidates: list[str] = []
    try:
        import torchvision

        names = torchvision.models.list_models()
        if name in names:
            return _torchvision(f"torchvision:{name}", name, device)
        candidates += [
            f"torchvision:{n}" for n in difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        ]
    except ImportError:
        pass
    try:
        import timm

        if timm.is_model(name):
            return _timm(f"timm:{name}", name, device)
        candidates += [
            f"timm:{n}"
            for n in difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
        ]
    except ImportError:
        pass
    hint = f"; did you mean {', '.join(candidates)}?" if candidates else ""
    raise ModelError(f"no model named {name!r} in torchvision or timm{hint} (references: {FORMS})")


def _import_module(target: str, reference: str) -> Any:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        zoo = _close(target.split(".")[0], ["torchvision", "timm"])
        raise ModelError(
            f"{reference}: no module named {error.name!r}{zoo}; check the spelling, that the "
            "package is installed, or that its folder is on PYTHONPATH"
        ) from None
    except Exception as error:
        raise ModelError(
            f"{reference}: importing {target} failed: {type(error).__name__}: {error}"
        ) from None


def _import_file(path: Path, reference: str) -> Any:
    if not path.is_file():
        raise ModelError(f"{reference}: file {str(path)!r} not found")
    name = f"stridekit_user_{abs(hash(path.resolve()))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{reference}: cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # let the file import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ModelError(
            f"{reference}: running {path} failed: {type(error).__name__}: {error}"
        ) from None
    finally:
        sys.path.remove(folder)
    return module


def _callables(path: Path) -> str:
    """The top-level functions and classes of a file, read without running it."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return "factory"
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    return " or :".join(names) if names else "factory"


def _factory(reference: str, module: Any, attribute: str) -> Resolved:
    from torch import nn

    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            public = [n for n in dir(target) if not n.startswith("_")]
            owner = getattr(target, "__name__", type(target).__name__)
            raise ModelError(f"{reference}: {part!r} not found in {owner}{_close(part, public)}")
        target = getattr(target, part)
    built = target
    if callable(target) and not isinstance(target, nn.Module):
        try:
            built = target()
        except TypeError as error:
            raise ModelError(
                f"{reference}: calling {attribute}() failed ({error}); the factory must take no "
                "arguments: wrap it, e.g. def build(): return Net(num_classes=10)"
            ) from None
        except Exception as error:
            raise ModelError(
                f"{reference}: {attribute}() raised {type(error).__name__}: {error}"
            ) from None
    if isinstance(built, Graph):
        return Resolved(reference, "factory", graph=built, input_shape=built.input_shape)
    if not isinstance(built, nn.Module):
        raise ModelError(
            f"{reference}: {attribute} gave a {type(built).__name__}, not a torch.nn.Module "
            "(or a stridekit Graph)"
        )
    return Resolved(reference, "factory", module=built)
