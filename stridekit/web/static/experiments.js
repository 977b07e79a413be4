// The experiments tab: the stores of the server's stores folder, a store's configurations
// (mean ± std over seeds) and trials (/api/results, the JSON of `stridekit results`) and
// its report's plots (/api/plots, SVG with hover text).

import { get } from "./api.js";
import { el, setError, table } from "./dom.js";

let loaded = false;

function value(v) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function meanStd(m) {
  if (!m || m.mean === null) return "-";
  return m.n > 1 ? `${value(m.mean)} ± ${value(m.std)}` : value(m.mean);
}

export async function loadStores() {
  if (loaded) return;
  const error = document.getElementById("experiments-error");
  try {
    const data = await get("/api/stores");
    loaded = true;
    const select = document.getElementById("store-select");
    select.replaceChildren(...data.stores.map((name) => el("option", { value: name, text: name })));
    document.getElementById("stores-note").textContent = data.folder
      ? `${data.stores.length} stores in ${data.folder}`
      : "This server has no stores folder: start it with stridekit serve --stores DIR.";
    if (data.stores.length) openStore();
  } catch (e) {
    setError(error, e);
  }
}

async function openStore() {
  const store = document.getElementById("store-select").value;
  const error = document.getElementById("experiments-error");
  setError(error, null);
  try {
    const [results, plots] = await Promise.all([get("/api/results", { store }), get("/api/plots", { store })]);
    const counts = Object.entries(results.counts).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`);
    document.getElementById("store-counts").textContent = `${results.trials.length} trials: ${counts.join(", ") || "none"}`;
    const factors = results.factors;
    const configColumns = [...factors, "seeds", ...results.metrics];
    const configRows = results.configurations.map((c) => [...factors.map((f) => value(c.factors[f])), `${c.done}/${c.seeds.length}`, ...results.metrics.map((m) => meanStd(c.metrics[m]))]);
    document.getElementById("configs").replaceChildren(table(configColumns, configRows, { id: "configs-table" }));
    const trialColumns = ["key", ...factors, "seed", "status", ...results.metrics];
    const trialRows = results.trials.map((t) => [t.key.slice(0, 8), ...factors.map((f) => value(t.factors[f])), String(t.seed), t.status, ...results.metrics.map((m) => value((t.metrics || {})[m]))]);
    document.getElementById("trials").replaceChildren(table(trialColumns, trialRows, { id: "trials-table" }));
    const holder = document.getElementById("store-plots");
    holder.replaceChildren(
      ...plots.plots.map((p) => {
        const figure = el("figure", { class: "plot", "data-plot": p.name });
        // the SVG is drawn by stridekit.viz, which escapes every label; the page's
        // Content Security Policy runs no script from it in any case
        figure.innerHTML = p.svg;
        figure.append(el("figcaption", { text: p.title }));
        return figure;
      }),
    );
  } catch (e) {
    setError(error, e);
  }
}

export function initExperiments() {
  document.getElementById("store-open").addEventListener("click", openStore);
}
