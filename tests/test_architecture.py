"""The layers of docs/architecture.md are kept by import-linter's contracts in
pyproject.toml (`make lint` runs `lint-imports`). These tests show the contracts can fail:
a copy of the package with one import that breaks the house is caught by the contract
that names it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("house")
    shutil.copytree(
        ROOT / "stridekit", root / "stridekit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


# (the module that gains the import, the import, the contract that must name it)
BREAKS = [
    ("geometry/window.py", "import torch", "The stride algebra (geometry) never imports torch"),
    (
        "geometry/window.py",
        "import stridekit.graph",
        "The layers: each imports only from those below it",
    ),
    (
        "passes/fields.py",
        "import stridekit.analysis",
        "The layers: each imports only from those below it",
    ),
    ("doctor/registry.py", "import typer", "Nothing below the CLI and the explorer imports typer"),
    ("lowering/cost.py", "import stridekit.lowering.windows", "No circles"),
]


def test_the_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert ", 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"), BREAKS, ids=[b[0] + ":" + b[1] for b in BREAKS]
)
def test_an_import_that_breaks_the_house_fails_its_contract(
    copy: Path, module: str, line: str, contract: str
) -> None:
    path = copy / "stridekit" / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}  # noqa\n")
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode == 1, result.stdout[-3000:]
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken, result.stdout[-3000:]


def import_circles(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    tool = ROOT / "tools" / "import_circles.py"
    return subprocess.run(
        [sys.executable, str(tool)], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_no_two_modules_import_each_other() -> None:
    result = import_circles(ROOT)
    assert result.returncode == 0 and result.stdout.startswith("no circles among"), result.stdout


def test_a_circle_through_a_function_level_import_is_found(copy: Path) -> None:
    path = copy / "stridekit" / "lowering" / "cost.py"
    original = path.read_text()
    try:
        path.write_text(
            original + "\n\ndef _late() -> None:\n    import stridekit.lowering.windows\n"
        )
        result = import_circles(copy)
    finally:
        path.write_text(original)
    assert result.returncode == 1
    assert "stridekit.lowering.cost <-> stridekit.lowering.windows" in result.stdout, result.stdout
