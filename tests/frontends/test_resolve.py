"""Model references: every form resolves, every mistake is a ModelError that helps."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from stridekit.errors import ModelError
from stridekit.frontends.resolve import resolve
from tests.frontends.oracles import export_onnx

EXAMPLES = Path(__file__).parents[2] / "stridekit" / "examples" / "specs"

FACTORY_FILE = """
    from torch import nn
    from neighbour import WIDTH  # the file's folder is importable while it runs

    def build():
        return nn.Sequential(nn.Conv2d(3, WIDTH, 3, stride=2, padding=1), nn.ReLU())

    class Net(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.conv = nn.Conv2d(3, width, 3)

    def broken():
        raise RuntimeError("no GPU here")

    def not_a_model():
        return 42

    instance = build()
"""


@pytest.fixture
def factory_file(tmp_path: Path) -> Path:
    (tmp_path / "neighbour.py").write_text("WIDTH = 8\n")
    path = tmp_path / "nets.py"
    path.write_text(textwrap.dedent(FACTORY_FILE))
    return path


@pytest.fixture
def factory_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "stridekit_test_zoo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "neighbour.py").write_text("WIDTH = 8\n")
    (package / "models.py").write_text(
        textwrap.dedent(FACTORY_FILE).replace("from neighbour", "from .neighbour")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("stridekit_test_zoo")]:
        monkeypatch.delitem(sys.modules, name)  # a previous test's copy of the package
    return "stridekit_test_zoo.models"


@pytest.mark.parametrize(
    ("reference", "source", "input_shape"),
    [
        ("torchvision:resnet18", "torchvision", (1, 3, 224, 224)),
        ("torchvision:lraspp_mobilenet_v3_large", "torchvision", (1, 3, 520, 520)),
        ("timm:resnet18", "timm", (1, 3, 224, 224)),
        ("squeezenet1_0", "torchvision", (1, 3, 224, 224)),  # bare: torchvision first
        ("mobilenetv3_small_050", "timm", (1, 3, 224, 224)),  # bare: then timm
    ],
)
def test_zoo_references(reference: str, source: str, input_shape: tuple[int, ...]) -> None:
    resolved = resolve(reference)
    assert isinstance(resolved.module, nn.Module) and resolved.graph is None
    assert (resolved.source, resolved.input_shape) == (source, input_shape)


@pytest.mark.parametrize(("attribute", "width"), [("build", 8), ("instance", 8)])
def test_file_and_module_factories(
    attribute: str, width: int, factory_file: Path, factory_package: str
) -> None:
    for reference in (f"{factory_file}:{attribute}", f"{factory_package}:{attribute}"):
        resolved = resolve(reference)
        assert resolved.source == "factory" and isinstance(resolved.module, nn.Module)
        assert resolved.module[0].out_channels == width
        graph = resolved.to_graph((1, 3, 32, 32))  # traced by the torch frontend
        assert graph.output.output_shape == (1, width, 16, 16)


def test_onnx_and_spec_files(tmp_path: Path) -> None:
    path = export_onnx(nn.Conv2d(3, 4, 3, stride=2), (1, 3, 33, 33), tmp_path / "conv.onnx")
    resolved = resolve(str(path))
    assert resolved.source == "onnx" and resolved.graph is not None
    assert resolved.input_shape == (1, 3, 33, 33)
    assert resolved.to_graph((1, 3, 65, 65)).output.output_shape == (1, 4, 32, 32)
    assert resolve(str(path), (1, 3, 17, 17)).graph.output.output_shape == (1, 4, 8, 8)
    spec = resolve(str(EXAMPLES / "resnet_stem.yaml"), (1, 3, 64, 64))
    assert spec.source == "spec" and spec.graph is not None
    assert spec.graph.input_shape == (1, 3, 64, 64)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl", ".ckpt", ".safetensors"])
def test_pickles_are_refused_without_being_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    torch.save({"weight": torch.zeros(1)}, path)
    with pytest.raises(ModelError, match="never unpickles") as error:
        resolve(str(path))
    assert "export the model to ONNX" in str(error.value) and ".py:build_model" in str(error.value)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("torchvision:resnet51", "unknown torchvision model 'resnet51'; did you mean resnet50"),
        ("timm:resnet19", "unknown timm model 'resnet19'; did you mean resnet18"),
        ("resnet51", "no model named 'resnet51' in torchvision or timm; did you mean "
                     "torchvision:resnet50"),
        ("torchvisio:resnet18", "no module named 'torchvisio'; did you mean torchvision?"),
        ("", "empty model reference"),
        ("missing.onnx", "missing.onnx: file not found"),
        ("missing.yaml", "missing.yaml: file not found"),
        ("a b c", "cannot read model reference 'a b c'"),
    ],
)  # fmt: skip
def test_bad_references(reference: str, message: str) -> None:
    with pytest.raises(ModelError) as error:
        resolve(reference)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("buidl", "'buidl' not found in"),
        ("Net", "calling Net() failed"),
        ("broken", "broken() raised RuntimeError: no GPU here"),
        ("not_a_model", "not_a_model gave a int, not a torch.nn.Module"),
    ],
)
def test_bad_factories(attribute: str, message: str, factory_file: Path) -> None:
    with pytest.raises(ModelError) as error:
        resolve(f"{factory_file}:{attribute}")
    assert message in str(error.value)
    if attribute == "buidl":
        assert "did you mean build" in str(error.value)


def test_file_without_factory_lists_its_callables(factory_file: Path) -> None:
    with pytest.raises(ModelError, match=r"name the factory to call: .*nets\.py:build or :Net"):
        resolve(str(factory_file))
    with pytest.raises(ModelError, match=r"file '.*absent\.py' not found"):
        resolve(f"{factory_file.parent / 'absent.py'}:build")
