"""`analyze` never changes the user's model, whether it returns or raises.

The oracle is independent of `stridekit.frontends.torch_state`: before and after the
analysis, `fingerprint` walks every module (under every name it has) and records, for
each entry of its ``__dict__`` (parameters, buffers, submodules, hooks, ``training``,
plain attributes and the lists and dicts inside them), the object itself and, for a
tensor, its device, dtype, shape and a copy of its values; the two walks must agree
bit for bit and object for object. The model's eager output, computed before and after,
must be identical too. The zoo covers the cases that break naive stand-ins: a module
under two names, tied weights, caches filled during the forward, RNNs, hooks that write
attributes, class-swapping parametrizations, and models that fail on meta half-way;
plus the real models where these were found (timm ``coat_lite_tiny``, ``levit_128s``,
torchvision's RetinaNet).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import timm
import torch
import torchvision
from torch import nn
from torch.nn.utils import parametrizations

from stridekit.analysis import analyze
from stridekit.cli.app import main
from stridekit.errors import ModelError

warnings.filterwarnings("ignore", category=FutureWarning, module="torchvision")
IMAGE = (1, 3, 16, 16)


class SharedSubmodule(nn.Module):
    """``self.conv`` is also ``self.blocks[0]``: one module under two names."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.blocks = nn.Sequential(self.conv, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class TiedWeights(nn.Module):
    """Two convolutions with one weight Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 3, 3, padding=1)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x).relu())


class DeviceCache(nn.Module):
    """timm's ``attention_bias_cache``: a dict keyed by device, filled in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bias_table = nn.Parameter(torch.randn(4))
        self.cache: dict[str, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = str(x.device)
        if self.training:
            return self.conv(x) + self.bias_table.view(1, 4, 1, 1)
        if key not in self.cache:
            self.cache[key] = self.bias_table.view(1, 4, 1, 1) * 2
        return self.conv(x) + self.cache[key]


class AttributeWrites(nn.Module):
    """Plain tensor attributes: one replaced, one counter written in place, one list."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = torch.zeros(())  # not a buffer: a plain attribute
        self.last_mean: torch.Tensor | None = None
        self.shapes: list[torch.Size] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.add_(1)
        y = self.conv(x)
        self.last_mean = y.mean()
        self.shapes.append(y.shape)
        return y


class FailsHalfWay(nn.Module):
    """torchvision's AnchorGenerator, then a data-dependent op (``nonzero``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.cell_anchors = [torch.arange(4.0), torch.arange(8.0)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.cell_anchors = [a.to(x.device, x.dtype) for a in self.cell_anchors]
        y = self.conv(x) + self.cell_anchors[0].view(1, 4, 1, 1)
        return y.flatten()[torch.nonzero(y.flatten() > 0).flatten()]


class HookedConv(nn.Sequential):
    """A forward hook that keeps the activation on the module, and a pre-hook."""

    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())

        def keep(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            module.kept = output

        def scale(module: nn.Module, args: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
            return (args[0] * 0.5,)

        self[0].register_forward_hook(keep)
        self[0].register_forward_pre_hook(scale)


class Recurrent(nn.Module):
    """An LSTM (its ``_flat_weights`` list holds the parameters) and a GRU."""

    def __init__(self, kind: type[nn.RNNBase]) -> None:
        super().__init__()
        self.rnn = kind(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


SMALL = (1, 3, 64, 64)  # the real models at 64² keep their structure and cost less


def retinanet() -> nn.Module:
    """Its post-processing (``nonzero``, ``topk``, NMS) needs values; fewer boxes to sort."""
    return torchvision.models.detection.retinanet_resnet50_fpn(
        weights=None,
        weights_backbone=None,
        min_size=SMALL[-1],
        max_size=SMALL[-1],
        score_thresh=0.9,
        topk_candidates=10,
        detections_per_img=10,
    )


@dataclass(frozen=True)
class Case:
    build: Callable[[], nn.Module]
    shape: tuple[int, ...] = IMAGE
    fails_on_meta: bool = False
    train: bool = False  # leave the model in train mode (the others: eval)


CASES = {
    "shared_submodule": Case(SharedSubmodule),
    "tied_weights": Case(TiedWeights),
    "device_cache": Case(DeviceCache),
    "attribute_writes": Case(AttributeWrites),
    "fails_half_way": Case(FailsHalfWay, fails_on_meta=True),
    "hooks": Case(HookedConv, train=True),
    "lstm": Case(lambda: Recurrent(nn.LSTM), shape=(1, 5, 8)),
    "gru": Case(lambda: Recurrent(nn.GRU), shape=(1, 5, 8), train=True),
    "spectral_norm": Case(lambda: nn.utils.spectral_norm(nn.Conv2d(3, 4, 3))),
    "weight_norm": Case(lambda: parametrizations.weight_norm(nn.Conv2d(3, 4, 3))),
    "float64_train": Case(
        lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).double(), train=True
    ),
    "timm_coat_lite_tiny": Case(lambda: timm.create_model("coat_lite_tiny", img_size=64), SMALL),
    "timm_levit_128s": Case(lambda: timm.create_model("levit_128s", img_size=64), SMALL),
    "torchvision_retinanet": Case(retinanet, SMALL, fails_on_meta=True),
}


def describe(value: Any, seen: set[int]) -> Any:
    """What the test compares: objects by identity, tensors also by their values."""
    if isinstance(value, torch.Tensor):
        values = None if value.is_meta else value.detach().clone()
        return ("tensor", id(value), value.device, value.dtype, value.shape, values)
    if isinstance(value, nn.Module):
        return ("module", id(value))  # walked on its own by `fingerprint`
    if id(value) in seen:
        return ("seen", id(value))
    if isinstance(value, dict):
        seen.add(id(value))
        return ("dict", id(value), [(k, describe(v, seen)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        seen.add(id(value))
        return (type(value).__name__, id(value), [describe(v, seen) for v in value])
    return ("object", id(value), type(value).__name__)


def fingerprint(model: nn.Module) -> dict[str, Any]:
    """Every module under every name: its class and its ``__dict__``, described."""
    return {
        name: (type(module), describe(vars(module), set()))
        for name, module in model.named_modules(remove_duplicate=False)
    }


def same(before: Any, after: Any, path: str = "model") -> None:
    if isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor):
        assert torch.equal(before, after), f"{path}: values changed"
        return
    if isinstance(before, list | tuple) and isinstance(after, list | tuple):
        assert len(before) == len(after), f"{path}: {before!r} became {after!r}"
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            same(b, a, f"{path}[{index}]")
        return
    assert before == after, f"{path}: {before!r} became {after!r}"


def eager(model: nn.Module, shape: tuple[int, ...]) -> Any:
    """The model's output on a fixed input, in eval mode (its modes put back by hand)."""
    modes = [(m, m.training) for m in model.modules()]
    weight = next(model.parameters())
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=weight.dtype)
    x = x.to(weight.device)
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        for module, training in modes:
            module.training = training


def outputs_equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(outputs_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(outputs_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def prepared(case: Case) -> nn.Module:
    torch.manual_seed(0)
    model = case.build()
    return model.train() if case.train else model.eval()


def check_unchanged(case: Case, model: nn.Module, device: str) -> None:
    """Analyse ``model`` on ``device`` (after a failed meta trace, if it fails on meta);
    its state and its eager output must be what they were."""
    output = eager(model, case.shape)  # fills the caches a first forward fills
    state = model.state_dict(keep_vars=True)
    values = {key: tensor.detach().clone() for key, tensor in state.items()}
    before = fingerprint(model)
    if case.fails_on_meta:  # as a user would: the meta trace fails, then the cpu one
        with pytest.raises(ModelError, match="--device cpu"):
            analyze(model, case.shape)
    if device != "meta" or not case.fails_on_meta:
        analysis = analyze(model, case.shape, device=device)
        assert analysis.declared_params == sum(p.numel() for p in model.parameters())
    after_state = model.state_dict(keep_vars=True)
    assert list(after_state) == list(state)
    for key, tensor in after_state.items():
        assert tensor is state[key], f"{key}: another tensor object"
        assert tensor.device == values[key].device and tensor.dtype == values[key].dtype
        assert torch.equal(tensor, values[key]), f"{key}: values changed"
    same(list(before.items()), list(fingerprint(model).items()))
    assert outputs_equal(output, eager(model, case.shape))


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", CASES)
def test_analyze_leaves_the_model_as_it_was(name: str, device: str) -> None:
    check_unchanged(CASES[name], prepared(CASES[name]), device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("device", ["meta", "cuda"])
@pytest.mark.parametrize("name", ["shared_submodule", "device_cache", "lstm", "fails_half_way"])
def test_a_model_on_the_gpu_stays_there(name: str, device: str) -> None:
    check_unchanged(CASES[name], prepared(CASES[name]).cuda(), device)


def test_the_cli_suggests_real_tensors_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    reference = "torchvision:retinanet_resnet50_fpn"
    assert main(["analyze", reference, "--input", "1x3x128x128"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("stridekit: error: RetinaNet")
    assert "--device cpu" in error and "needs tensor values" in error


def test_the_cli_builds_references_with_real_weights_for_device_cpu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # (RetinaNet itself works the same way, but resizes any input to 800² first: 10 s)
    argv = ["analyze", "torchvision:resnet18", "--input", "1x3x32x32", "--format", "json"]
    assert main([*argv, "--device", "cpu"]) == 0
    on_cpu = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    assert on_cpu == json.loads(capsys.readouterr().out)
