// The explorer's page: three tabs, the state of each in the URL's hash.

import { get } from "./api.js";
import { initCompare } from "./compare.js";
import { loadStores, initExperiments } from "./experiments.js";
import { initLayer, layerState, restoreLayer } from "./layer.js";
import { initModel, loadNames, restoreModel } from "./model.js";
import { readHash, writeHash } from "./state.js";

const TABS = ["layer", "model", "experiments"];

function select(tab) {
  for (const name of TABS) {
    document.getElementById(name).hidden = name !== tab;
    document.getElementById(`tab-${name}`).setAttribute("aria-selected", String(name === tab));
  }
  if (tab === "model") loadNames();
  if (tab === "experiments") loadStores();
}

function fromHash() {
  const { tab, params } = readHash();
  const chosen = TABS.includes(tab) ? tab : "layer";
  select(chosen);
  return { chosen, params };
}

async function boot() {
  try {
    const health = await get("/api/health");
    document.getElementById("version").textContent = `stridekit ${health.version}`;
  } catch {
    // the tabs work without the version line
  }
  fromHash();
  initLayer();
  initModel();
  initCompare();
  initExperiments();
  for (const name of TABS) {
    document.getElementById(`tab-${name}`).addEventListener("click", () => {
      if (name === "layer") writeHash("layer", layerState());
      else history.replaceState(null, "", `#${name}`);
      select(name);
    });
  }
  window.addEventListener("hashchange", () => {
    const { chosen, params } = fromHash();
    if (chosen === "layer" && params.toString()) restoreLayer(params);
    if (chosen === "model" && params.toString()) restoreModel(params);
  });
  document.body.dataset.ready = "1";
}

boot();
