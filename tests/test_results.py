"""Every result type renders itself (JSON, Markdown, text, HTML); the CLI only prints them;
the renderers sit below the results (no import cycle); every user error has its own class.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Group, RenderableType
from rich.table import Table

import stridekit
from stridekit.analysis import Analysis, AnalysisView, analyze
from stridekit.compare import Comparison, compare
from stridekit.design import Adaptation, Adaptations, ModelSizes, adapt_images, adapt_size
from stridekit.design.plan import Constraints, Layer, Plan, plan
from stridekit.design.plan_report import PlanReport, plan_report
from stridekit.design.sizes import model_sizes
from stridekit.doctor import Report, ReportListing, doctor
from stridekit.errors import StrideError
from stridekit.examples import ExampleList, list_examples
from stridekit.experiments.report import Report as SweepReport
from stridekit.experiments.report import build_report
from stridekit.experiments.results import Results
from stridekit.experiments.sweep import SweepSummary
from stridekit.experiments.trial import TrialResult
from stridekit.geometry import (
    ShapeReport,
    SizeSet,
    Solutions,
    Window,
    describe_op,
    solve_windows,
    valid_input_sizes,
)
from stridekit.geometry.solve import ChainSizes, chain_sizes
from stridekit.object_coverage import ObjectCoverage, object_coverage, pyramid_level
from stridekit.objects import parse_objects
from stridekit.render import Result, to_text
from stridekit.viz import (
    ConvAnimation,
    CoverageMap,
    FieldOverlay,
    NetworkStory,
    Picture,
    Saved,
    animate_conv,
    draw_coverage,
    draw_field,
    draw_network,
)
from stridekit.web.window_picture import WindowPicture, window_picture
from tests.experiments.fakes import example_store
from tests.ports import Naive, Reference

PACKAGE = Path(stridekit.__file__).parent
STEM = "stridekit/examples/specs/resnet_stem.yaml"  # a spec: analysed without torch tracing
ENCODER = "stridekit/examples/specs/deeplab_encoder.yaml"
SQUARE_32 = SizeSet(period=32, residues=(0,), minimum=32)

EXAMPLES: dict[type[Result], Callable[[], Result]] = {
    Analysis: lambda: analyze(STEM),
    AnalysisView: lambda: analyze(STEM).view(depth=1),
    Report: lambda: doctor(analyze(ENCODER)),
    ReportListing: lambda: doctor(analyze(ENCODER)).each(),
    SizeSet: lambda: valid_input_sizes([Window(3, 2, padding=(1, 1))] * 5),
    Solutions: lambda: solve_windows(224, 112).first(3),
    ChainSizes: lambda: chain_sizes([Window(3, 2)] * 2, "no-drop", (200, 300), input_size=224),
    ShapeReport: lambda: describe_op("conv", [Window(3, 2)] * 2, [224, 225]),
    ModelSizes: lambda: model_sizes(analyze(STEM), (200, 300)),
    Adaptation: lambda: adapt_size((375, 500), [SQUARE_32, SQUARE_32]),
    Adaptations: lambda: adapt_images(analyze(STEM), [(224, 224), (375, 500)]),
    Plan: lambda: plan([Layer(3, 8)] * 3, 32, Constraints(output_stride=4))[0],
    PlanReport: lambda: plan_report("tiny", [Layer(3, 8)] * 3, 32, Constraints(output_stride=4)),
    TrialResult: lambda: TrialResult(
        {"accuracy": 0.97, "flops": 14_900_000.0, "receptive_field": None},
        {"findings": ["aliasing"], "output_stride": [4, 4]},
        {"train": 12.5},
        {"device": "cpu"},
    ),
    Results: lambda: Results.load(example_store()),
    SweepReport: lambda: build_report(example_store()),
    WindowPicture: lambda: window_picture("conv", [Window(3, 2, padding=(1, 1))] * 2, (7, 7)),
    SweepSummary: lambda: SweepSummary(
        "runs.db",
        "tiny",
        {"pending": 0, "running": 0, "done": 3, "failed": 1},
        ran=4,
        new=4,
        orphaned=0,
        seconds=12.5,
        failures=[{"trial": "op=spd seed=1", "error": "loss is nan at epoch 2"}],
        best={"metric": "accuracy", "mean": 0.965, "std": 0.007, "label": "op=conv"},
    ),
    ConvAnimation: lambda: animate_conv((4, 4), 3, padding=1),
    CoverageMap: lambda: draw_coverage((8, 8), 3, stride=2),
    FieldOverlay: lambda: draw_field(STEM, layer="maxpool", effective=False),
    NetworkStory: lambda: draw_network(STEM),
    Saved: lambda: Saved(animate_conv(5, 3), Path("conv.gif")),
    ExampleList: list_examples,
    Comparison: lambda: compare(Naive(), Reference(), (1, 3, 32, 32)),
    ObjectCoverage: lambda: object_coverage(
        parse_objects("4:64"),
        [pyramid_level(f"p{k}", (2**k,) * 2, (640 >> k,) * 2, (900,) * 2) for k in (3, 4, 5)],
    ),
}


def _modules() -> Iterator[str]:
    for info in pkgutil.walk_packages([str(PACKAGE)], "stridekit."):
        if info.name != "stridekit.__main__":  # runs the command line
            yield info.name


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


@pytest.fixture(scope="module")
def everything() -> None:
    """Every stridekit module imported, so every class is defined."""
    for name in _modules():
        importlib.import_module(name)


@pytest.mark.usefixtures("everything")
def test_every_result_type_has_an_example() -> None:
    results = {cls for cls in _subclasses(Result) if cls.__module__.startswith("stridekit.")}
    assert results == set(EXAMPLES)


def _tables(renderable: RenderableType) -> list[Table]:
    if isinstance(renderable, Table):
        return [renderable]
    if isinstance(renderable, Group):
        return [t for r in renderable.renderables for t in _tables(r)]
    return []


@pytest.fixture(scope="module", params=sorted(EXAMPLES, key=lambda cls: cls.__name__))
def result(request: pytest.FixtureRequest) -> Result:
    return EXAMPLES[request.param]()


def test_to_dict_is_json_ready(result: Result) -> None:
    # tuples and Fractions would come back as lists and strings: not equal
    assert json.loads(result.to_json()) == result.to_dict()


def test_markdown_has_every_table_row(result: Result) -> None:
    markdown = result.to_markdown()
    tables = _tables(result.__rich__())
    assert markdown.endswith("\n")
    table_lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table_lines) == sum(t.row_count + 1 for t in tables)  # + the header rows
    for t in tables:
        assert f"### {t.title}" in markdown


def test_text_and_html_show_the_same_tables(result: Result) -> None:
    tables = _tables(result.__rich__())
    assert str(result) == to_text(result.__rich__()) != ""
    html = result._repr_html_()
    assert html.count("<table>") == len(tables)
    assert html.count("<tr>") == sum(t.row_count + 1 for t in tables)
    if isinstance(result, Picture):  # a picture shows itself (an animation in its player)
        assert result._repr_svg_().startswith("<svg") and result._repr_svg_() in html
    elif not tables:
        assert html.startswith("<pre>")


@pytest.mark.parametrize(
    "path", sorted(p.name for p in (PACKAGE / "cli").glob("*.py") if p.name != "output.py")
)
def test_commands_build_no_tables_and_no_json(path: str) -> None:
    """A command parses, calls the library and hands the result to `emit`."""
    tree = ast.parse((PACKAGE / "cli" / path).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name.split(".")[0] in ("rich", "json")}
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"to_dict", "dumps", "add_row", "add_column"}


def _stridekit_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.module
        for node in ast.walk(tree)  # also imports inside functions and TYPE_CHECKING blocks
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stridekit")
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("stridekit")
    }


def test_renderers_import_nothing_of_stridekit() -> None:
    """The results build on `render`; `render` knows none of them, so no cycle can form."""
    assert _stridekit_imports(PACKAGE / "render.py") == set()


def test_the_analysis_is_not_imported_back_by_what_it_imports() -> None:
    for module in ("render", "layer_record"):
        assert "stridekit.analysis" not in _stridekit_imports(PACKAGE / f"{module}.py")


@pytest.mark.usefixtures("everything")
def test_every_user_error_class_lives_in_errors_py() -> None:
    classes = {cls for cls in _subclasses(StrideError) if cls.__module__.startswith("stridekit")}
    assert {cls.__module__ for cls in classes} == {"stridekit.errors"}


def _raises_the_base(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
        and node.exc.func.id == "StrideError"
    ]


# files whose owners move them to the subclasses in errors.py on their branches
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason="owner's branch"))
        if name in PENDING
        else name
        for name in sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
    ],
)
def test_no_error_is_raised_as_the_bare_base_class(path: str) -> None:
    """A user error has a class that says what went wrong (`stridekit.errors`)."""
    assert _raises_the_base(PACKAGE / path) == []
