"""The page in real headless Chromium (Playwright): the layer tab's numbers, formula and
findings follow the controls, the animation steps through the library's taps, the
heatmap shows its coverage, the model tab shows a registry model and uploaded ONNX and
TFLite files, a shared URL restores the state, the experiments tab shows a store."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from stridekit.analysis import analyze
from stridekit.compare import compare
from stridekit.doctor import doctor
from stridekit.geometry import describe_op, make_window
from stridekit.viz import network_story
from tests.web.test_api import tiny_onnx

SELECTS = ("op", "axes", "convention")


def open_page(page: Any, path: str) -> None:
    """Go to ``path`` and wait until the page has booted (its controls listen, the state in
    the URL is applied): a control set before that would be reset by the boot."""
    page.goto(path)
    page.wait_for_selector("body[data-ready='1']", state="attached")


def set_layer(page: Any, **fields: str) -> None:
    """Fill the layer form's fields (select or type) and wait for the answer."""
    for name, value in fields.items():
        element = page.locator(f"#layer-form [name={name}]")
        if name in SELECTS:
            element.select_option(value)
        elif name == "ceil_mode":
            element.set_checked(value == "1")
        else:
            element.fill(value)
    # busy from the first keystroke until the answer to the last one is shown (the form
    # waits 120 ms for more typing); selectors, not script: the page's CSP forbids eval
    page.wait_for_selector("#layer[data-busy='0']", state="attached")


def highlighted(page: Any) -> set[tuple[int, ...]]:
    cells = page.locator("#input-grid rect.tap")
    found = set()
    for i in range(cells.count()):
        x, y = cells.nth(i).get_attribute("data-x"), cells.nth(i).get_attribute("data-y")
        found.add((int(y), int(x)) if y is not None else (int(x),))
    return found


def test_numbers_formula_and_findings_follow_the_controls(page: Any) -> None:
    open_page(page, "/")
    set_layer(page, axes="1", height="224", kernel="3", stride="2", padding="0")
    expected = describe_op("conv", [make_window("conv", 224, 3, 2)], [224])
    assert page.locator("#layer-out").inner_text() == str(expected.axes[0].output_size)
    assert expected.axes[0].formula in page.locator("#layer-formula").inner_text()
    assert page.locator("#layer-findings [data-code=dropped-pixels]").count() == 1
    assert "stridekit shape --size 224 --kernel 3 --stride 2" in page.inner_text("#layer-cli")
    set_layer(page, stride="1")  # floor((224 - 3)/1) + 1 = 222: every pixel read
    assert page.locator("#layer-out").inner_text() == "222"
    assert page.locator("#layer-findings [data-code=dropped-pixels]").count() == 0
    set_layer(page, height="2", kernel="5")
    assert "use an input of at least 5" in page.inner_text("#layer-error")


def test_the_animation_steps_through_the_windows_taps(page: Any) -> None:
    open_page(page, "/")
    set_layer(page, axes="2", height="7", width="6", kernel="3", stride="2", padding="1")
    rows, cols = make_window("conv", 7, 3, 2, 1), make_window("conv", 6, 3, 2, 1)
    outputs = (rows.output_size(7), cols.output_size(6))
    picture = page.locator("#window-picture")
    assert picture.get_attribute("data-frames") == str(outputs[0] * outputs[1])
    for frame in range(4):
        r, c = divmod(frame, outputs[1])
        assert picture.get_attribute("data-frame") == str(frame)
        assert highlighted(page) == set(itertools.product(rows.taps(r), cols.taps(c)))
        page.click("#step")
    page.click("#step-back")
    assert picture.get_attribute("data-frame") == "3"
    page.click("#play")
    page.wait_for_selector("#window-picture:not([data-frame='3'])", state="attached")
    page.click("#play")  # pause
    assert page.inner_text("#play") == "Play"


def test_the_heatmap_shows_the_coverage(page: Any) -> None:
    open_page(page, "/")
    set_layer(
        page,
        op="conv_transpose",
        axes="2",
        height="5",
        width="4",
        kernel="3",
        stride="2",
        padding="0",
    )
    rows = make_window("conv_transpose", 5, 3, 2).coverage(5)
    cols = make_window("conv_transpose", 4, 3, 2).coverage(4)
    cells = page.locator("#coverage-picture rect")
    assert cells.count() == 5 * 4
    for i in range(cells.count()):
        cell = cells.nth(i)
        y, x = int(cell.get_attribute("data-y")), int(cell.get_attribute("data-x"))
        assert int(cell.get_attribute("data-count")) == rows[y] * cols[x]
    assert page.locator("#layer-findings [data-code=uneven-coverage]").count() == 1


def test_a_shared_url_restores_the_state(page: Any, browser: Any, server: str) -> None:
    open_page(page, "/")
    set_layer(
        page,
        op="max_pool",
        axes="1",
        height="12",
        kernel="2",
        stride="3",
        padding="1",
        ceil_mode="1",
    )
    url, out = page.url, page.inner_text("#layer-out")
    other = browser.new_page()
    try:
        open_page(other, url)
        other.wait_for_selector("#layer[data-busy='0']", state="attached")
        form = other.locator("#layer-form")
        assert form.locator("[name=op]").input_value() == "max_pool"
        assert form.locator("[name=stride]").input_value() == "3"
        assert form.locator("[name=ceil_mode]").is_checked()
        assert other.inner_text("#layer-out") == out
    finally:
        other.close()


def wait_for_table(page: Any) -> None:
    page.wait_for_selector("#layers-table, #model-error:not([hidden])", state="attached")
    assert page.locator("#model-error").is_hidden(), page.inner_text("#model-error")


def test_the_model_tab_shows_a_registry_model(page: Any) -> None:
    open_page(page, "/#model?name=torchvision:resnet18&input=1x3x64x64")
    wait_for_table(page)
    analysis = analyze("torchvision:resnet18", (1, 3, 64, 64))
    rows = page.locator("#layers-table tbody tr")
    assert rows.count() == len(analysis.layers) - 1  # every layer but the input
    first = rows.nth(0).locator("td")
    assert first.nth(0).inner_text() == analysis.layers[1].name
    assert first.nth(2).inner_text() == "x".join(map(str, analysis.layers[1].output_shape))
    report = doctor(analysis)
    assert page.locator("#model-findings li").count() == len(report.findings)
    assert "axis 0:" in page.inner_text("#model-sizes")
    page.wait_for_selector("#model-network[data-state=drawn] img")
    assert page.inner_text("#model-network figcaption") == network_story(analysis).summary()
    width = page.eval_on_selector("#model-network img", "image => image.naturalWidth")
    assert width > 0  # the SVG decoded as an image


def analyze_upload(page: Any, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, upload it as the model tab's file and analyse it."""
    path.write_bytes(data)
    open_page(page, "/#model")
    page.check("#model-form input[value=file]")
    page.set_input_files("#model-form input[name=file]", str(path))
    page.click("#model-run")
    wait_for_table(page)


def test_the_model_tab_shows_an_uploaded_onnx_file(page: Any, tmp_path: Path) -> None:
    analyze_upload(page, tmp_path / "tiny.onnx", tiny_onnx())
    row = page.locator("#layers-table tbody tr").nth(0).locator("td")
    assert row.nth(1).inner_text() == "conv"
    assert row.nth(2).inner_text() == "1x8x16x16"  # floor((32 + 2 - 3)/2) + 1 = 16


def test_the_model_tab_shows_an_uploaded_tflite_file(page: Any) -> None:
    path = Path(__file__).parents[1] / "data" / "tflite" / "mobile_int8.tflite"
    analysis = analyze(str(path))
    open_page(page, "/#model")
    page.set_input_files("#model-form input[name=file]", str(path))  # picks the file source
    assert page.is_checked("#model-form input[value=file]")
    page.click("#model-run")
    wait_for_table(page)
    rows = page.locator("#layers-table tbody tr")
    assert rows.count() == sum(layer.op != "input" for layer in analysis.layers)
    first = rows.nth(0).locator("td")
    assert first.nth(0).inner_text() == analysis.layers[1].name
    assert first.nth(2).inner_text() == "x".join(map(str, analysis.layers[1].output_shape))


def two_output_onnx() -> bytes:
    """A map at stride 2 and, from it, one at stride 4: two outputs (``fine``, ``coarse``)."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("fine", "coarse")]
    w1 = helper.make_tensor("w1", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, [8, 8, 3, 3], [0.0] * 576)
    window = {"strides": [2, 2], "pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["fine"], **window),
        helper.make_node("Conv", ["fine", "w2"], ["coarse"], **window),
    ]
    graph = helper.make_graph(nodes, "two", [x], outs, [w1, w2])
    return helper.make_model(graph).SerializeToString()


def test_the_model_tab_shows_every_output(page: Any, tmp_path: Path) -> None:
    """A model that returns two maps: the outputs table lists both, with the strides and
    fields the CLI's outputs section gives (2 and 4; fields 3 and 3 + 2·2 = 7)."""
    path = tmp_path / "two.onnx"
    analyze_upload(page, path, two_output_onnx())
    rows = page.locator("#outputs-table tbody tr")
    shown = [
        [rows.nth(i).locator("td").nth(k).inner_text() for k in range(5)]
        for i in range(rows.count())
    ]
    expected = [cells for o in analyze(str(path)).outputs for cells in o.cells()]
    assert shown == expected
    assert [row[2:4] for row in shown] == [["2", "3"], ["4", "7"]]


def test_the_experiments_tab_shows_a_store(page: Any) -> None:
    open_page(page, "/#experiments")
    page.wait_for_selector("#configs-table")
    assert page.locator("#configs-table tbody tr").count() == 2
    assert page.locator("#trials-table tbody tr").count() == 4
    page.wait_for_selector("#store-plots svg")


@pytest.mark.parametrize("tab", ["layer", "model", "experiments"])
def test_the_page_loads_nothing_from_elsewhere(page: Any, server: str, tab: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_page(page, f"/#{tab}")
    page.wait_for_timeout(300)
    assert requested and all(url.startswith(server) or url.startswith("data:") for url in requested)


def test_the_model_tab_compares_with_a_reference(page: Any) -> None:
    open_page(page, "/#model")
    page.fill("#model-form input[name=name]", "torchvision:resnet18")
    page.fill("#model-form input[name=input]", "1x3x64x64")
    page.fill("#compare-form input[name=reference]", "torchvision:resnet34")
    page.click("#compare-run")
    page.wait_for_selector("#compare-pairs")
    expected = compare("torchvision:resnet18", "torchvision:resnet34", (1, 3, 64, 64))
    rows = page.locator("#compare-pairs tbody tr")
    assert rows.count() == len(expected.pairs)
    first = expected.first_divergence
    assert first is not None
    summary = page.inner_text("#compare-summary")
    assert f"first divergence: {first.message}" in summary
    assert page.inner_text("#compare-status") == "the models differ"
    assert page.locator("#compare-error").is_hidden()
