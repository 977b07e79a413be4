"""A model named by a request, checked before any work: a registry name, a pasted layer
spec, or an uploaded model file (by the id `Uploads` gave it).

Nothing from a request is ever imported, executed or unpickled: a name must be a
``torchvision:`` or ``timm:`` registry name (never a path, a module or a factory), a spec
is read with a YAML loader that builds only plain data and refuses aliases (a "billion
laughs" document expands to a huge tree while its text stays small), and an uploaded file
is read as data by its frontend (`stridekit.web.uploads`).

>>> registry_name("torchvision:resnet50"), registry_name("resnet18")
('torchvision:resnet50', 'resnet18')
>>> registry_name("pkg.module:factory")
Traceback (most recent call last):
...
stridekit.errors.ModelError: 'pkg.module:factory': the explorer analyses models from the registries only: torchvision:NAME, timm:NAME or a bare NAME (or paste a spec, or upload an .onnx, .keras or .tflite file)
>>> parse_spec("layers: [{type: conv, channels: 8, kernel: 3}]", 1000, 100)
{'layers': [{'type': 'conv', 'channels': 8, 'kernel': 3}]}
"""  # noqa: E501

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from stridekit.errors import ModelError, SizeError, SpecError
from stridekit.frontends.resolve import KERAS_SUFFIXES, SPEC_SUFFIXES

_REGISTRY = re.compile(r"(?:(?:torchvision|timm):)?[A-Za-z0-9][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_]+)?")
# what `resolve` reads as a file on this machine, not as a registry name
_FILE_SUFFIXES = (".py", ".onnx", ".tflite", *SPEC_SUFFIXES, *KERAS_SUFFIXES)


def registry_name(name: str) -> str:
    """``name`` when it names a torchvision or timm model (by form: the registry itself
    says whether it has it), else a `ModelError`."""
    text = name.strip()
    bare = ":" not in text
    suffix = "." + text.rpartition(".")[2].lower() if "." in text else ""
    if not _REGISTRY.fullmatch(text) or (bare and suffix in _FILE_SUFFIXES):
        raise ModelError(
            f"{name!r}: the explorer analyses models from the registries only: "
            "torchvision:NAME, timm:NAME or a bare NAME (or paste a spec, or upload an .onnx, "
            ".keras or .tflite file)"
        )
    return text


class _PlainLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` without anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise SpecError(
                f"spec line {event.start_mark.line + 1}: YAML aliases (*name) are not "
                "accepted by the explorer; write the layers out"
            )
        return super().compose_node(parent, index)


def _nodes(data: Any) -> Iterator[Any]:
    stack = [data]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_spec(text: str, max_bytes: int, max_nodes: int) -> dict[str, Any] | list[Any]:
    """A pasted spec (YAML or JSON) as plain data, bounded in bytes and in nodes."""
    size = len(text.encode())
    if size > max_bytes:
        raise SizeError(
            f"the spec is {size:,} bytes, more than {max_bytes:,} (stridekit serve --max-spec-kb)"
        )
    try:
        data = yaml.load(text, Loader=_PlainLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        try:  # JSON is YAML except for some escapes; say what JSON thinks too
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise SpecError(f"the spec is not valid YAML or JSON: {reason}") from None
    except RecursionError:
        raise SpecError("the spec is nested too deeply") from None
    if not isinstance(data, dict | list):
        raise SpecError(
            "a spec is a mapping with `layers` (or a list of layers), e.g. "
            "layers: [{type: conv, channels: 64, kernel: 7, stride: 2, padding: 3}]"
        )
    for count, _ in enumerate(_nodes(data), 1):
        if count > max_nodes:
            raise SizeError(f"the spec has more than {max_nodes:,} values; the explorer's bound")
    return data
