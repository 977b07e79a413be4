// The model tab: a registry model, a pasted spec or an uploaded model file (ONNX, Keras,
// TFLite) at an input shape; its layer table (/api/analyze), findings (/api/doctor), valid
// input sizes (/api/sizes) and network diagram (/api/network); compare.js compares it with
// another.

import { get, isAbort, latest, post, upload } from "./api.js";
import { axesText, el, findingList, human, setError, table } from "./dom.js";
import { readHash, writeHash } from "./state.js";

const EXAMPLE_SPEC = `name: stem
input: [1, 3, 224, 224]
layers:
  - {type: conv, channels: 64, kernel: 7, stride: 2, padding: 3}
  - {type: relu}
  - {type: max_pool, kernel: 3, stride: 2, padding: 1}
  - {type: conv, channels: 128, kernel: 3, stride: 2}
  - {type: global_pool}
`;

const form = () => document.getElementById("model-form");
const analysisCall = latest();
const networkCall = latest();
let namesLoaded = false;
let uploaded = null; // {file, id} of the last upload

export async function loadNames() {
  if (namesLoaded) return;
  namesLoaded = true;
  try {
    const data = await get("/api/models", { limit: 5000 });
    const list = document.getElementById("model-names");
    list.replaceChildren(...data.models.map((name) => el("option", { value: name })));
  } catch {
    namesLoaded = false;
  }
}

// The model the form describes, as /api requests take it (an ONNX file uploaded once).
export async function source() {
  const f = form().elements;
  const kind = f.source.value;
  if (kind === "spec") return { spec: f.spec.value };
  if (kind === "file") {
    const file = f.file.files[0];
    if (!file) throw new Error("choose an .onnx, .keras or .tflite file");
    if (!uploaded || uploaded.file !== file) {
      setStatus(`uploading ${file.name}...`);
      const stored = await upload("/api/upload", file);
      uploaded = { file, id: stored.id };
    }
    return { file: uploaded.id };
  }
  return { name: f.name.value.trim() };
}

function setStatus(text) {
  document.getElementById("model-status").textContent = text;
}

function layerRows(analysis) {
  return analysis.layers
    .filter((l) => l.op !== "input")
    .map((l) => [
      l.name,
      l.op,
      l.output_shape ? l.output_shape.join("x") : "-",
      axesText(l.stride),
      axesText(l.jump),
      l.rf === null ? `global (local ${axesText(l.local_rf)})` : axesText(l.rf),
      human(l.flops),
      human(l.params),
    ]);
}

// Every returned tensor with its stride and field, one row per pyramid level under it (as
// the CLI's outputs section), when one output's totals do not say it all.
function strideText(stride, resized) {
  if (stride === null) return "-";
  return resized === null ? axesText(stride) : `${axesText(stride)} (${axesText(resized)} resized)`;
}

function fieldText(rf, local) {
  if (rf !== null) return axesText(rf);
  return local ? `global (windows ${axesText(local)})` : "global";
}

function outputRows(outputs) {
  const rows = [];
  for (const o of outputs) {
    const rf = o.stride === null ? "-" : fieldText(o.receptive_field, o.local_receptive_field);
    rows.push([o.name, o.shape.join("x"), strideText(o.stride, o.stride_resized), rf, o.node]);
    for (const l of o.levels) {
      const span = l.rows === null ? "chosen" : `${l.rows[0]}:${l.rows[1]}`;
      const anchors = l.per_position > 1 ? ` ×${l.per_position}` : "";
      rows.push([
        `  level ${l.grid.join("x")}${anchors}`,
        `rows ${span}`,
        strideText(l.stride, l.stride_resized),
        fieldText(l.receptive_field, l.local_receptive_field),
        l.source,
      ]);
    }
  }
  return rows;
}

function showOutputs(outputs) {
  const holder = document.getElementById("model-outputs");
  const resize = outputs.find((o) => o.resize !== null);
  if (outputs.length < 2 && !outputs.some((o) => o.levels.length) && !resize) {
    holder.replaceChildren();
    return;
  }
  const columns = ["output", "shape", "stride", "RF", "node"];
  holder.replaceChildren(
    el("h2", { text: "Outputs" }),
    table(columns, outputRows(outputs), { id: "outputs-table" }),
    ...(resize ? [el("p", { class: "note", text: `the model resizes its input ${resize.resize.from.join("x")} → ${resize.resize.to.join("x")} at ${resize.resize.node}: strides in input pixels are fractional; (… resized) gives them in resized pixels` })] : []),
  );
}

function showAnalysis(analysis) {
  const t = analysis.totals;
  const rf = t.receptive_field === null ? `global (sliding windows alone: ${axesText(t.local_receptive_field)})` : axesText(t.receptive_field);
  document.getElementById("model-totals").replaceChildren(
    el("p", { text: `${analysis.model} at ${analysis.input_shape.join("x")}: ${human(t.params)} params, ${human(t.flops)} FLOPs` }),
    el("p", { text: `output stride ${axesText(t.output_stride)}, receptive field ${rf} (at ${t.head})` }),
    ...(analysis.unhandled_ops.length ? [el("p", { text: `ops without a rule (treated as global): ${analysis.unhandled_ops.join(", ")}` })] : []),
  );
  const columns = ["layer", "op", "output", "stride", "jump", "RF", "FLOPs", "params"];
  document.getElementById("model-table").replaceChildren(table(columns, layerRows(analysis), { id: "layers-table" }));
  showOutputs(analysis.outputs);
}

function showSizes(sizes) {
  const holder = document.getElementById("model-sizes");
  holder.replaceChildren(
    ...sizes.axes.map((a) => {
      const shown = a.sizes.slice(0, 16).join(", ") + (a.sizes.length > 16 ? ", ..." : "");
      return el("p", { class: "sizes", text: `axis ${a.axis}: ${a.closed_form}; in ${sizes.range[0]}..${sizes.range[1]}: ${shown || "none"}` });
    }),
  );
}

// The diagram is matplotlib's SVG, shown as an image (never as markup in the page), and
// drawn after the table so the numbers do not wait for it.
async function showNetwork(body) {
  const figure = document.getElementById("model-network");
  figure.dataset.state = "drawing";
  const caption = el("figcaption", { text: "drawing the network..." });
  figure.replaceChildren(caption);
  try {
    const story = await networkCall((signal) => post("/api/network", body, signal));
    const image = el("img", { alt: story.summary, src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(story.svg)))}` });
    caption.textContent = story.summary;
    figure.replaceChildren(image, caption);
    figure.dataset.state = "drawn";
  } catch (e) {
    if (isAbort(e)) return;
    caption.textContent = `no diagram: ${e.message}`;
    figure.dataset.state = "failed";
  }
}

async function analyse(event) {
  if (event) event.preventDefault();
  const error = document.getElementById("model-error");
  const f = form().elements;
  setError(error, null);
  const section = document.getElementById("model");
  section.dataset.busy = "1";
  try {
    const model = await source();
    const body = { model };
    if (f.input.value.trim()) body.input = f.input.value.trim();
    const share = { source: f.source.value, input: f.input.value.trim() };
    if (model.name) share.name = model.name;
    writeHash("model", share);
    setStatus("analysing (the first analysis of a server starts its worker: a few seconds)...");
    const depth = f.depth.value === "" ? null : Number(f.depth.value);
    const [analysis, report, sizes] = await analysisCall((signal) =>
      Promise.all([
        post("/api/analyze", { ...body, depth }, signal),
        post("/api/doctor", body, signal),
        post("/api/sizes", { ...body, range: "1:1024" }, signal),
      ]),
    );
    showAnalysis(analysis);
    findingList(document.getElementById("model-findings"), report);
    showSizes(sizes);
    setStatus(`${analysis.layers.length - 1} layers`);
    showNetwork(body);
  } catch (e) {
    if (isAbort(e)) return;
    setStatus("");
    setError(error, e);
  } finally {
    section.dataset.busy = "0";
  }
}

function syncSource() {
  const kind = form().elements.source.value;
  document.querySelectorAll("#model-form [data-source]").forEach((n) => n.classList.toggle("inactive", n.dataset.source !== kind));
}

export function initModel() {
  const f = form().elements;
  f.spec.value = EXAMPLE_SPEC;
  form().addEventListener("submit", analyse);
  form().addEventListener("change", syncSource);
  f.file.addEventListener("change", () => {
    f.source.value = "file";
    syncSource();
  });
  f.name.addEventListener("focus", loadNames);
  const { tab, params } = readHash();
  if (tab === "model") restoreModel(params);
  syncSource();
}

export function restoreModel(params) {
  const f = form().elements;
  if (params.get("name")) {
    f.name.value = params.get("name");
    f.source.value = "name";
  }
  if (params.get("input")) f.input.value = params.get("input");
  syncSource();
  if (params.get("name")) analyse();
}
