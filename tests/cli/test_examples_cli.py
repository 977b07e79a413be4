"""``stridekit examples`` and ``stridekit --version``: the shipped example files, listed,
copied and valid; the version from its one source."""

from __future__ import annotations

import json
import socket
import tomllib
from pathlib import Path

import pytest

import stridekit
from stridekit.cli import main
from stridekit.examples import bundled_examples
from stridekit.experiments.spec import SweepSpec

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "stridekit" / "examples"


def on_disk() -> list[str]:
    """The example files in the checkout: every spec, sweep and model file."""
    return sorted(
        path.relative_to(SHIPPED).as_posix()
        for path in SHIPPED.rglob("*")
        if path.suffix in (".yaml", ".py") and path.name != "__init__.py"
    )


def test_version_has_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"stridekit {stridekit.__version__}\n"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    source = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert source == {"attr": "stridekit.version.__version__"}


def test_examples_lists_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["examples"]
    assert sorted(example["name"] for example in listed) == on_disk()
    for example in listed:
        assert Path(example["path"]).read_bytes() == (SHIPPED / example["name"]).read_bytes()
        assert example["summary"]


def test_copy_writes_the_files_and_keeps_the_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "examples"
    assert main(["examples", "--copy", str(target)]) == 0
    copied = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert copied == on_disk()
    assert all((target / n).read_bytes() == (SHIPPED / n).read_bytes() for n in copied)
    edited = target / "sweeps" / "demo.yaml"
    edited.write_text("# mine\n")
    capsys.readouterr()
    assert main(["examples", "--copy", str(target)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--force" in error and "already exist" in error
    assert edited.read_text() == "# mine\n"
    assert main(["examples", "--copy", str(target), "--force"]) == 0
    assert edited.read_bytes() == (SHIPPED / "sweeps" / "demo.yaml").read_bytes()


@pytest.mark.parametrize(
    "name", [e.name for e in bundled_examples() if e.kind == "spec"] + ["unet.py"]
)
def test_every_model_example_analyses(name: str) -> None:
    reference = f"stridekit/examples/{name}" + (":unet" if name.endswith(".py") else "")
    shape = (1, 3, 256, 256) if name.endswith(".py") else None
    analysis = stridekit.analyze(reference, shape)
    assert analysis.rows() and analysis.output_stride is not None


@pytest.mark.parametrize("name", [e.name for e in bundled_examples() if e.kind == "sweep"])
def test_every_sweep_example_loads(name: str) -> None:
    spec = SweepSpec.load(SHIPPED / name)
    assert spec.name == Path(name).stem


def test_serve_refuses_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn", reason="the web extra is not installed")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"127.0.0.1:{port}" in error and "--port 0" in error
