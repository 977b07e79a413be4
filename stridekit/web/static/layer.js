// The layer tab: one op on a 1-d or 2-d input. The numbers come from /api/shape (the
// JSON of `stridekit shape`), the picture from /api/window (each output's taps and each
// pixel's coverage), the findings from /api/shape/doctor. Nothing is computed here but
// the drawing: a 2-d output reads the product of its axes' taps, and a 2-d pixel is read
// (count of its row) x (count of its column) times, since a window's axes are independent.

import { isAbort, latest, post } from "./api.js";
import { axesText, el, findingList, setError, svg } from "./dom.js";
import { readHash, writeHash } from "./state.js";

const FIELDS = ["op", "kernel", "stride", "padding", "dilation", "convention", "output_padding"];
const DEFAULTS = { op: "conv", size: "7x7", kernel: "3", stride: "2", padding: "1", dilation: "1", convention: "torch", output_padding: "0" };
const PALETTE = ["#d73027", "#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695", "#542788", "#2d004b"];

const form = () => document.getElementById("layer-form");
const shapeCall = latest();
const windowCall = latest();
const doctorCall = latest();
let movie = null; // the drawn window picture: data, cells, current frame, timer
let pending = null;

// --- the form and the URL --------------------------------------------------------------

export function layerState() {
  const f = form().elements;
  const axes = Number(f.axes.value);
  const state = { size: axes === 2 ? `${f.height.value}x${f.width.value}` : `${f.height.value}` };
  for (const name of FIELDS) state[name] = f[name].value.trim();
  if (f.ceil_mode.checked) state.ceil = "1";
  return state;
}

function applyState(params) {
  const f = form().elements;
  const get = (name) => params.get(name) ?? DEFAULTS[name];
  const sizes = String(get("size")).split("x");
  f.axes.value = sizes.length >= 2 ? "2" : "1";
  f.height.value = sizes[0];
  f.width.value = sizes[1] ?? sizes[0];
  for (const name of FIELDS) f[name].value = get(name);
  f.ceil_mode.checked = params.get("ceil") === "1";
}

function requestBody(state) {
  const body = {
    size: state.size,
    kernel: state.kernel,
    padding: state.padding || "0",
    dilation: state.dilation || "1",
    op: state.op,
    convention: state.convention,
  };
  if (state.stride) body.stride = state.stride;
  if (state.op.endsWith("pool")) body.ceil_mode = state.ceil === "1";
  if (state.op === "conv_transpose") body.output_padding = state.output_padding || "0";
  return body;
}

function cliCommand(body) {
  const parts = ["stridekit shape", `--size ${body.size}`, `--kernel ${body.kernel}`];
  if (body.stride) parts.push(`--stride ${body.stride}`);
  if (body.padding !== "0") parts.push(`--padding ${body.padding}`);
  if (body.dilation !== "1") parts.push(`--dilation ${body.dilation}`);
  if (body.op !== "conv") parts.push(`--op ${body.op}`);
  if (body.ceil_mode) parts.push("--ceil-mode");
  if (body.output_padding && body.output_padding !== "0") parts.push(`--output-padding ${body.output_padding}`);
  if (body.convention !== "torch") parts.push(`--convention ${body.convention}`);
  return parts.join(" ");
}

function syncVisibility() {
  const f = form().elements;
  const op = f.op.value;
  document.querySelectorAll("#layer .two-d").forEach((n) => (n.hidden = f.axes.value !== "2"));
  document.querySelectorAll("#layer .pool-only").forEach((n) => (n.hidden = !op.endsWith("pool")));
  document.querySelectorAll("#layer .transposed-only").forEach((n) => (n.hidden = op !== "conv_transpose"));
}

// --- the numbers -----------------------------------------------------------------------

function showShape(report) {
  document.getElementById("layer-in").textContent = report.input_size.join(" x ");
  document.getElementById("layer-out").textContent = report.output_size.join(" x ");
  const names = report.axes.length === 2 ? ["rows", "columns"] : report.axes.length === 1 ? ["size"] : report.axes.map((_, a) => `axis ${a}`);
  document.getElementById("layer-formula").textContent = report.axes.map((a, i) => `${names[i]}: ${a.formula}`).join("\n");
  const unread = report.axes.map((a, i) => (a.unread_real.length ? `${names[i]}: ${a.unread_real.length} never read (${a.unread_real.slice(0, 8).join(", ")}${a.unread_real.length > 8 ? ", ..." : ""})` : null)).filter(Boolean);
  const coverage = report.axes.map((a) => `${a.coverage.min}..${a.coverage.max}`);
  document.getElementById("layer-unread").textContent =
    (unread.length ? `Unread real pixels: ${unread.join("; ")}. ` : "Every real pixel is read. ") + `Reads per pixel: ${axesText(coverage)}.`;
}

function clearShape() {
  for (const id of ["layer-in", "layer-out", "layer-formula", "layer-unread"]) document.getElementById(id).textContent = "";
}

// --- the sliding window ----------------------------------------------------------------

function kindOf(axis, c) {
  if (axis.transposed) return axis.unread_real.includes(c) ? "unread" : "real";
  if (c >= 0 && c < axis.input_size) return axis.unread_real.includes(c) ? "unread" : "real";
  if (c >= -axis.padding[0] && c < axis.input_size + axis.padding[1]) return "padding";
  return "implicit";
}

function gridRange(axis) {
  if (axis.transposed) return [0, axis.input_size - 1];
  const last = axis.span.length ? axis.span[axis.span.length - 1][1] : 0;
  return [-axis.padding[0], Math.max(axis.input_size + axis.padding[1] - 1, last)];
}

function range(first, last) {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function cellSize(count) {
  return Math.max(6, Math.min(28, Math.floor(420 / Math.max(1, count))));
}

function drawWindow(data) {
  stop();
  const holder = document.getElementById("window-picture");
  holder.replaceChildren();
  const axes = data.axes.length === 1 ? [null, data.axes[0]] : data.axes; // rows, columns
  const rowAxis = axes[0];
  const colAxis = axes[1];
  const rows = rowAxis ? range(...gridRange(rowAxis)) : [0];
  const cols = range(...gridRange(colAxis));
  const outRows = rowAxis ? rowAxis.output_size : 1;
  const outCols = colAxis.output_size;
  const size = cellSize(Math.max(rows.length, cols.length, outRows, outCols));
  const gap = 2 * size + 8;
  const picture = svg("svg", { class: "window", role: "img", "aria-label": "the sliding window" });
  const input = svg("g", { id: "input-grid" });
  const cells = new Map();
  const rank = { implicit: 3, padding: 2, unread: 1, real: 0 };
  rows.forEach((y, r) => {
    cols.forEach((x, c) => {
      const kinds = [kindOf(colAxis, x)];
      if (rowAxis) kinds.push(kindOf(rowAxis, y));
      const kind = kinds.sort((a, b) => rank[b] - rank[a])[0];
      const rect = svg("rect", { x: c * size, y: r * size, width: size - 1, height: size - 1, class: `cell ${kind}`, "data-x": x, "data-y": rowAxis ? y : null });
      input.append(rect);
      cells.set(rowAxis ? `${y},${x}` : `${x}`, rect);
    });
  });
  const inputWidth = cols.length * size;
  const inputHeight = rows.length * size;
  const oneD = !rowAxis;
  const offsetX = oneD ? 0 : inputWidth + gap;
  const offsetY = oneD ? inputHeight + gap : 0;
  const output = svg("g", { id: "output-grid", transform: `translate(${offsetX},${offsetY})` });
  const outputs = new Map();
  for (let r = 0; r < outRows; r += 1) {
    for (let c = 0; c < outCols; c += 1) {
      const rect = svg("rect", { x: c * size, y: r * size, width: size - 1, height: size - 1, class: "cell output", "data-x": c, "data-y": oneD ? null : r });
      output.append(rect);
      outputs.set(oneD ? `${c}` : `${r},${c}`, rect);
    }
  }
  const width = oneD ? Math.max(inputWidth, outCols * size) : offsetX + outCols * size;
  const height = oneD ? offsetY + size : Math.max(inputHeight, outRows * size);
  const labels = svg("g", { class: "labels" });
  picture.setAttribute("viewBox", `0 -16 ${width} ${height + 16}`);
  picture.setAttribute("width", width);
  picture.setAttribute("height", height + 16);
  labels.append(svg("text", { x: 0, y: -4, text: data.axes[0].transposed ? "input (each writes a window of outputs)" : "input (padding dashed)" }));
  labels.append(svg("text", { x: offsetX, y: offsetY - 4, text: "output" }));
  picture.append(labels, input, output);
  holder.append(picture);
  movie = { data, rowAxis, colAxis, cells, outputs, outRows, outCols, frame: 0, timer: null, frames: outRows * outCols };
  showFrame(0);
}

function tapsList(values) {
  if (!values.length) return "-";
  const contiguous = values.every((v, i) => i === 0 || v === values[i - 1] + 1);
  return contiguous && values.length > 1 ? `${values[0]}..${values[values.length - 1]}` : values.join(", ");
}

export function showFrame(index) {
  if (!movie) return;
  const m = movie;
  m.frame = ((index % m.frames) + m.frames) % m.frames;
  const r = m.rowAxis ? Math.floor(m.frame / m.outCols) : 0;
  const c = m.frame % m.outCols;
  for (const rect of m.cells.values()) rect.classList.remove("tap");
  const colTaps = m.colAxis.taps[c];
  const rowTaps = m.rowAxis ? m.rowAxis.taps[r] : [null];
  for (const y of rowTaps) {
    for (const x of colTaps) {
      const rect = m.cells.get(m.rowAxis ? `${y},${x}` : `${x}`);
      if (rect) rect.classList.add("tap");
    }
  }
  let k = 0;
  for (const rect of m.outputs.values()) {
    rect.classList.toggle("current", k === m.frame);
    rect.classList.toggle("done", k < m.frame);
    k += 1;
  }
  const holder = document.getElementById("window-picture");
  holder.dataset.frame = String(m.frame);
  holder.dataset.frames = String(m.frames);
  const verb = m.colAxis.transposed ? "is written by input" : "reads";
  const where = m.rowAxis ? `(${r}, ${c})` : `${c}`;
  const what = m.rowAxis ? `rows ${tapsList(rowTaps)}, columns ${tapsList(colTaps)}` : `${tapsList(colTaps)}`;
  document.getElementById("frame-caption").textContent = `frame ${m.frame + 1} of ${m.frames}: output ${where} ${verb} ${what}`;
}

function stop() {
  if (movie && movie.timer) clearInterval(movie.timer);
  if (movie) movie.timer = null;
  document.getElementById("play").textContent = "Play";
}

function togglePlay() {
  if (!movie) return;
  if (movie.timer) {
    stop();
    return;
  }
  movie.timer = setInterval(() => showFrame(movie.frame + 1), 600);
  document.getElementById("play").textContent = "Pause";
}

// --- the coverage heatmap --------------------------------------------------------------

function colour(count, largest) {
  if (count === 0) return PALETTE[0];
  if (largest <= PALETTE.length - 1) return PALETTE[count];
  return PALETTE[1 + Math.min(PALETTE.length - 2, Math.floor(((count - 1) * (PALETTE.length - 1)) / largest))];
}

function dark(count, largest) {
  return count === 0 || PALETTE.indexOf(colour(count, largest)) >= 4;
}

function drawCoverage(data) {
  const holder = document.getElementById("coverage-picture");
  holder.replaceChildren();
  const axes = data.axes.length === 1 ? [null, data.axes[0]] : data.axes;
  const rowCounts = axes[0] ? axes[0].coverage : [1];
  const colCounts = axes[1].coverage;
  const size = cellSize(Math.max(rowCounts.length, colCounts.length));
  const counts = rowCounts.map((a) => colCounts.map((b) => (axes[0] ? a * b : b)));
  const largest = Math.max(...counts.flat());
  const picture = svg("svg", { class: "coverage", width: colCounts.length * size, height: rowCounts.length * size, role: "img", "aria-label": "coverage heatmap" });
  counts.forEach((row, r) => {
    row.forEach((count, c) => {
      const cell = svg("g", {});
      cell.append(svg("rect", { x: c * size, y: r * size, width: size - 1, height: size - 1, fill: colour(count, largest), "data-x": c, "data-y": axes[0] ? r : null, "data-count": count }, svg("title", { text: `pixel ${axes[0] ? `(${r}, ${c})` : c}: read ${count} times` })));
      if (size >= 14) cell.append(svg("text", { x: c * size + size / 2, y: r * size + size / 2 + 4, "text-anchor": "middle", class: dark(count, largest) ? "light" : "", text: count }));
      picture.append(cell);
    });
  });
  holder.append(picture);
  const legend = document.getElementById("coverage-legend");
  legend.replaceChildren();
  const values = [...new Set(counts.flat())].sort((a, b) => a - b);
  for (const v of values.slice(0, 12)) {
    legend.append(el("span", { class: "swatch", style: `background:${colour(v, largest)}` }), el("span", { text: v === 0 ? "0 (never read)" : String(v) }));
  }
}

// --- one update ------------------------------------------------------------------------

async function update() {
  clearTimeout(pending); // this update reads the form as it is now
  pending = null;
  syncVisibility();
  const state = layerState();
  if (!document.getElementById("layer").hidden) writeHash("layer", state);
  const body = requestBody(state);
  document.getElementById("layer-cli").textContent = cliCommand(body);
  const error = document.getElementById("layer-error");
  const note = document.getElementById("picture-note");
  const section = document.getElementById("layer");
  section.dataset.busy = "1";
  const [shape, picture, findings] = await Promise.allSettled([
    shapeCall((signal) => post("/api/shape", body, signal)),
    windowCall((signal) => post("/api/window", body, signal)),
    doctorCall((signal) => post("/api/shape/doctor", body, signal)),
  ]);
  if ([shape, picture, findings].some((r) => r.status === "rejected" && isAbort(r.reason))) return;
  if (shape.status === "fulfilled") {
    showShape(shape.value);
    setError(error, null);
  } else {
    clearShape();
    setError(error, shape.reason);
  }
  if (picture.status === "fulfilled") {
    setError(note, null);
    drawWindow(picture.value);
    drawCoverage(picture.value);
  } else {
    stop();
    movie = null;
    document.getElementById("window-picture").replaceChildren();
    document.getElementById("coverage-picture").replaceChildren();
    document.getElementById("coverage-legend").replaceChildren();
    setError(note, shape.status === "fulfilled" ? picture.reason : null);
  }
  if (findings.status === "fulfilled") findingList(document.getElementById("layer-findings"), findings.value);
  else document.getElementById("layer-findings").replaceChildren();
  if (pending === null) section.dataset.busy = "0"; // else newer input waits its turn
}

function schedule() {
  document.getElementById("layer").dataset.busy = "1"; // what is shown is stale from now on
  clearTimeout(pending);
  pending = setTimeout(update, 120);
}

export function initLayer() {
  const { tab, params } = readHash();
  applyState(tab === "layer" ? params : new URLSearchParams());
  // the controls an op has show at once; the numbers follow once typing pauses
  for (const kind of ["input", "change"]) {
    form().addEventListener(kind, () => {
      syncVisibility();
      schedule();
    });
  }
  form().addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("play").addEventListener("click", togglePlay);
  document.getElementById("step").addEventListener("click", () => {
    stop();
    showFrame(movie ? movie.frame + 1 : 0);
  });
  document.getElementById("step-back").addEventListener("click", () => {
    stop();
    showFrame(movie ? movie.frame - 1 : 0);
  });
  document.getElementById("layer-share").addEventListener("click", async () => {
    const note = document.getElementById("layer-share-note");
    try {
      await navigator.clipboard.writeText(location.href);
      note.textContent = "link copied";
    } catch {
      note.textContent = location.href;
    }
  });
  update();
}

export function restoreLayer(params) {
  applyState(params);
  update();
}
