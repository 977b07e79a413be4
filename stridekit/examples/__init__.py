"""The example files that ship with stridekit: layer specs, sweep specs and a model file.

They are package data, so a ``pip install`` has them as well as a clone (where they lie
under ``stridekit/examples/``). ``stridekit examples`` lists them; ``stridekit examples
--copy examples`` writes them into ``./examples/``, where the README's commands find them
(``stridekit analyze examples/specs/fpn_small.yaml``). A sweep writes its store beside its
spec, so sweeps run from such a copy, never from the installed package. The model file is
also importable: ``stridekit analyze stridekit.examples.unet:unet``.

>>> found = bundled_examples()
>>> [example.name.removeprefix("sweeps/") for example in found if example.kind == "sweep"]
... # doctest: +NORMALIZE_WHITESPACE
['demo.yaml', 'detail.yaml', 'detection-strides.yaml', 'mnist-strides.yaml', 'plans.yaml',
 'seg-output-stride.yaml']
>>> example_path("specs/resnet_stem.yaml").read_text().splitlines()[2]
'#   stridekit analyze examples/specs/resnet_stem.yaml'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from rich.console import RenderableType

from stridekit.errors import UsageError
from stridekit.render import Result, table

# folder → what its files are; the model file sits at the top
KINDS = {"specs": "spec", "sweeps": "sweep"}


@dataclass(frozen=True)
class Example:
    """One example file: its name (``specs/fpn_small.yaml``), its kind and what it shows."""

    name: str
    kind: str
    summary: str
    source: Traversable

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "summary": self.summary}


def _summary(text: str, kind: str) -> str:
    """The first sentence of a file's leading comment (YAML) or docstring (Python)."""
    if kind == "model":
        match = re.search(r'"""(.*?)"""', text, re.DOTALL)
        lines = match.group(1).splitlines() if match else []
    else:
        lines = []
        for line in text.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line.lstrip("# "))
    words = " ".join(" ".join(lines).split())
    return re.split(r"(?<=\.)\s", words, maxsplit=1)[0].removesuffix(".")


def bundled_examples() -> list[Example]:
    """Every example file, specs first, then sweeps, then the model file, by name.

    >>> [e.name for e in bundled_examples() if e.kind != "sweep"]
    ['specs/deeplab_encoder.yaml', 'specs/fpn_small.yaml', 'specs/resnet_stem.yaml', 'unet.py']
    """
    root = files(__name__)
    found: list[Example] = []
    for folder, kind in KINDS.items():
        for entry in sorted(root.joinpath(folder).iterdir(), key=lambda item: item.name):
            if entry.name.endswith(".yaml"):
                text = entry.read_text(encoding="utf-8")
                found.append(Example(f"{folder}/{entry.name}", kind, _summary(text, kind), entry))
    model = root.joinpath("unet.py")
    found.append(Example("unet.py", "model", _summary(model.read_text("utf-8"), "model"), model))
    return found


def example_path(name: str) -> Traversable:
    """The installed file of one example (``specs/fpn_small.yaml``), to read or open.

    >>> example_path("sweeps/demo.yaml").name
    'demo.yaml'
    >>> try:
    ...     example_path("fpn_small.yaml")
    ... except UsageError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    no example 'fpn_small.yaml'; did you mean 'specs/fpn_small.yaml'? (stridekit examples ...
    """
    examples = {example.name: example for example in bundled_examples()}
    if name in examples:
        return examples[name].source
    close = [known for known in examples if known.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]]
    hint = f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(examples)
    raise UsageError(f"no example {name!r}; {hint} (stridekit examples lists them)")


@dataclass(frozen=True)
class ExampleList(Result):
    """The example files, and where a copy put them (``folder``, when one was made)."""

    examples: tuple[Example, ...]
    folder: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for example in self.examples:
            where = self.folder / example.name if self.folder else example.source
            rows.append({**example.to_dict(), "path": str(where)})
        return {"folder": None if self.folder is None else str(self.folder), "examples": rows}

    def __rich__(self) -> RenderableType:
        title = f"examples copied to {self.folder}" if self.folder else "stridekit's examples"
        rows = [[e["name"], e["kind"], e["summary"]] for e in self.to_dict()["examples"]]
        return table(title, ["name", "kind", "what it shows"], rows, overflow="fold")


def copy_examples(folder: str | Path, *, overwrite: bool = False) -> ExampleList:
    """Write every example into ``folder`` (``folder/specs/…``, ``folder/sweeps/…``).

    An existing file is left alone and refused unless ``overwrite``: a copy never
    replaces a spec the user edited.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as scratch:
    ...     copied = copy_examples(scratch)
    ...     (Path(scratch) / "sweeps" / "demo.yaml").read_text().startswith("# `make demo`")
    True
    """
    target = Path(folder)
    examples = bundled_examples()
    if not overwrite:
        existing = [e.name for e in examples if (target / e.name).exists()]
        if existing:
            others = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise UsageError(
                f"{target / existing[0]}{others} already exist; copy into another folder, "
                "or pass --force to overwrite them"
            )
    for example in examples:
        destination = target / example.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(example.source.read_bytes())
    return ExampleList(tuple(examples), target)


def list_examples() -> ExampleList:
    """The example files as a result that renders itself.

    >>> listed = list_examples().to_dict()["examples"]
    >>> listed[-1]["name"], listed[-1]["summary"][:48]
    ('unet.py', 'A small U-Net: ``depth`` poolings, each undone b')
    """
    return ExampleList(tuple(bundled_examples()))


__all__ = [
    "Example",
    "ExampleList",
    "bundled_examples",
    "copy_examples",
    "example_path",
    "list_examples",
]
