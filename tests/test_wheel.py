"""What a user gets from ``pip install``: `python -m build` makes an sdist and, from it, a
wheel that carry every file of the package; the wheel is installed into a fresh virtual
environment outside the checkout, with the torch pinned in ``constraints.txt``, and its
commands run there, in a folder where the checkout cannot be imported.

Heavy, so the whole module is one xdist group: the venv holds torch, about 5.5 GB, which
pip unpacks from the local disk. Measured on the 2-core machine: 70 s for torch and
torchvision alone and 124 s with the extras while it was quiet; 459 s for the install and
724 s for the module under a load average of 7-13.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

import stridekit
from tests.children import interruptible

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "stridekit"
EXTRAS = "vision,experiments,web"  # the README's pip line
# what a build does not need: version control, environments, caches, outputs, stores
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "site", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", "*.db", "*.db-*", "*.lock",
)  # fmt: skip


def package_files() -> list[str]:
    """Every file of the package in the checkout, as the archives name it."""
    return sorted(
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def pinned(name: str) -> str:
    """The version ``constraints.txt`` pins ``name`` to."""
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"constraints.txt pins no {name}")


@dataclass(frozen=True)
class Installed:
    venv: Path
    work: Path  # the current folder of every command: outside the checkout
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built (as `python -m build` does) from the sdist, from a
    copy of the checkout so the build writes nothing into it."""
    scratch = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT, scratch / "src", ignore=NOT_SOURCE)
    command = [sys.executable, "-m", "build", "--outdir", str(scratch / "dist"), "src"]
    done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return scratch / "dist"


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv (no system site packages) with the wheel and its extras in it."""
    scratch = tmp_path_factory.mktemp("wheel")
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    hidden = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH"}
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "PYTHONNOUSERSITE": "1"}
    (wheel,) = dist.glob("*.whl")
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    install += ["-c", str(ROOT / "constraints.txt"), f"{wheel}[{EXTRAS}]"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-5000:]
    (scratch / "work").mkdir()
    return Installed(venv, scratch / "work", env)


def test_the_sdist_and_the_wheel_carry_every_file_of_the_package(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    expected = package_files()
    assert {"stridekit/py.typed", "stridekit/web/static/index.html"} < set(expected)
    assert "stridekit/examples/sweeps/demo.yaml" in expected
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in expected if name not in in_wheel] == []
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = [*expected, "README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml"]
    assert [name for name in needed if name not in in_sdist] == []


def test_the_wheel_says_its_version_and_extras(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    name = f"stridekit-{stridekit.__version__}.dist-info/METADATA"
    metadata = zipfile.ZipFile(wheel).read(name).decode()
    fields = [line.split(": ", 1) for line in metadata.splitlines() if ": " in line]
    assert ["Version", stridekit.__version__] in fields
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {value for key, value in fields if key == "Provides-Extra"}
    assert extras == set(project["optional-dependencies"])


def test_the_installed_package_is_the_wheels(installed: Installed) -> None:
    code = "import stridekit, torch; print(stridekit.__file__); print(torch.__version__)"
    module, torch_version = installed.run("python", "-c", code).split()
    assert Path(module).resolve().is_relative_to(installed.venv.resolve())
    assert torch_version.split("+")[0] == pinned("torch")
    assert installed.run("stridekit", "--version") == f"stridekit {stridekit.__version__}\n"


def test_shape(installed: Installed) -> None:
    out = installed.run("stridekit", "shape", "--size", "224x224", "--kernel", "3", "--stride", "2",
                        "--format", "json")  # fmt: skip
    conv = torch.nn.Conv2d(1, 1, 3, stride=2, device="meta")
    expected = list(conv(torch.empty(1, 1, 224, 224, device="meta")).shape[2:])
    assert json.loads(out)["output_size"] == expected


def test_analyze_a_zoo_model(installed: Installed) -> None:
    torchvision = pytest.importorskip("torchvision")
    out = installed.run("stridekit", "analyze", "torchvision:resnet18", "--input", "1x3x64x64",
                        "--format", "json")  # fmt: skip
    totals = json.loads(out)["totals"]
    model = torchvision.models.resnet18().to("meta")
    assert totals["params"] == sum(p.numel() for p in model.parameters())
    body = torch.nn.Sequential(*list(model.children())[:-2])  # up to layer4
    last = body(torch.empty(1, 3, 64, 64, device="meta")).shape[2:]
    assert totals["output_stride"] == [64 // size for size in last]


@pytest.fixture(scope="module")
def swept(installed: Installed) -> Path:
    """A one-configuration, one-epoch sweep of the shipped demo spec; its store's folder."""
    installed.run("stridekit", "examples", "--copy", "examples")
    spec = yaml.safe_load((installed.work / "examples/sweeps/demo.yaml").read_text())
    spec["vary"] = {"op": ["conv"]}
    (installed.work / "one.yaml").write_text(yaml.safe_dump(spec))
    stores = installed.work / "stores"
    installed.run("stridekit", "sweep", "one.yaml", "--store", "stores/one.db",
                  "--device", "cpu", "--no-progress", "--format", "json", timeout=600)  # fmt: skip
    return stores


def test_the_examples_are_the_checkouts(installed: Installed, swept: Path) -> None:
    copied = installed.work / "examples"
    names = sorted(path.relative_to(copied).as_posix() for path in copied.rglob("*.*"))
    shipped = PACKAGE / "examples"
    expected = sorted(
        path.relative_to(shipped).as_posix()
        for path in shipped.rglob("*")
        if path.suffix in (".yaml", ".py") and path.name != "__init__.py"
    )
    assert names == expected
    for name in names:
        assert (copied / name).read_bytes() == (shipped / name).read_bytes(), name


def test_a_one_epoch_sweep(installed: Installed, swept: Path) -> None:
    results = json.loads(installed.run("stridekit", "results", "stores/one.db", "--format", "json"))
    assert results["counts"] == {"pending": 0, "running": 0, "done": 1, "failed": 0}
    (trial,) = results["trials"]
    assert trial["config"]["training"]["epochs"] == 1
    assert trial["environment"]["stridekit"] == stridekit.__version__
    assert trial["metrics"]["accuracy"] > 0.5  # ten classes: chance is 0.1


def _first_line(process: subprocess.Popen[str], seconds: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError(f"stridekit serve printed nothing in {seconds} s") from None


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read()


def _healthy(base: str, seconds: float) -> dict[str, int | str]:
    """``/api/health`` once the workers are idle (past their warm-up), within a bound."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            health = json.loads(_get(f"{base}/api/health")[1])
            if health["alive"] == health["workers"] and health["in_flight"] == 0:
                return dict(health)
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{base}/api/health: not ready in {seconds} s"
        time.sleep(0.2)


def _group_gone(group: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server(installed: Installed, swept: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``stridekit serve`` on a port the system picks, in a process group of its own, so
    Ctrl+C can be sent as a terminal does and no process of it may outlive the test."""
    command = [str(installed.venv / "bin" / "stridekit"), "serve", "--port", "0"]
    command += ["--stores", str(swept)]
    process = subprocess.Popen(
        command,
        cwd=installed.work,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=interruptible,  # Ctrl+C as a terminal delivers it, even from a background job
    )
    try:
        line = _first_line(process, 120)
        assert line.startswith("stridekit explorer on http://127.0.0.1:"), line
        yield process, line.split(" on ", 1)[1].split()[0]
    finally:
        if process.poll() is None or not _group_gone(process.pid, 0.1):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serve_answers_and_stops_on_ctrl_c(server: tuple[subprocess.Popen[str], str]) -> None:
    process, base = server
    health = _healthy(base, 180)
    assert health["status"] == "ok" and health["version"] == stridekit.__version__
    status, page = _get(f"{base}/")
    assert status == 200 and b"<title>stridekit explorer</title>" in page
    script = (PACKAGE / "web" / "static" / "app.js").read_bytes()
    assert _get(f"{base}/static/app.js") == (200, script)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl+C: every process of the group gets it
    assert process.wait(60) == 130
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()
    assert _group_gone(process.pid, 30), "a process of stridekit serve outlived it"
