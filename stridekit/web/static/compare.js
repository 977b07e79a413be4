// The model tab's compare view: the model above (A, the port) against a reference (B): a
// registry name or an uploaded ONNX file, through /api/compare: the aligned spatial
// layers and what differs, the first divergence with its fix, the offset at the output.

import { isAbort, latest, post, upload } from "./api.js";
import { axesText, el, setError, table } from "./dom.js";
import { source } from "./model.js";

const compareCall = latest();
let uploaded = null; // {file, id} of the last reference uploaded

// [[0, 1], [0, 1]] -> "(0, 1)"; [[1, 1], [0, 1]] -> "(1, 1)x(0, 1)"
function paddingText(padding) {
  const texts = padding.map((p) => (p === null ? "-" : `(${p[0]}, ${p[1]})`));
  return new Set(texts).size === 1 ? texts[0] : texts.join("x");
}

const ASPECTS = [
  (l) => `${l.op} ${axesText(l.geometry)}`,
  (l) => l.output_size.join("x"),
  (l) => paddingText(l.padding),
  (l) => axesText(l.jump),
  (l) => axesText(l.rf_start),
  (l) => (l.rf === null ? "global" : axesText(l.rf)),
];

function pairCells(pair) {
  const { a, b } = pair;
  const both = (text) => {
    if (!a || !b) return text(a || b);
    const [left, right] = [text(a), text(b)];
    return left === right ? left : `${left} vs ${right}`;
  };
  const differs = pair.differs.includes("layer") ? `only in ${a ? "A" : "B"}` : pair.differs.join(", ");
  return [a ? a.name : "-", b ? b.name : "-", ...ASPECTS.map(both), differs];
}

async function reference(f) {
  const file = f.onnx.files[0];
  if (!file) return { name: f.reference.value.trim() };
  if (!uploaded || uploaded.file !== file) {
    uploaded = { file, id: (await upload("/api/upload", file)).id };
  }
  return { file: uploaded.id };
}

async function compare(event) {
  event.preventDefault();
  const f = document.getElementById("compare-form").elements;
  const error = document.getElementById("compare-error");
  const status = document.getElementById("compare-status");
  setError(error, null);
  try {
    const body = { a: await source(), b: await reference(f) };
    const input = document.getElementById("model-form").elements.input.value.trim();
    if (input) body.input = input;
    status.textContent = "comparing...";
    const result = await compareCall((signal) => post("/api/compare", body, signal));
    const columns = ["A", "B", "op", "output", "padding", "jump", "rf start", "rf", "differs"];
    document.getElementById("compare-table").replaceChildren(table(columns, result.layers.map(pairCells), { id: "compare-pairs" }));
    document.getElementById("compare-summary").replaceChildren(...result.summary.map((line) => el("li", { text: line })));
    status.textContent = result.agree ? "the models agree" : "the models differ";
  } catch (e) {
    if (isAbort(e)) return;
    status.textContent = "";
    setError(error, e);
  }
}

export function initCompare() {
  document.getElementById("compare-form").addEventListener("submit", compare);
}
