// Small helpers to build the page's elements and SVG without innerHTML.

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function setError(node, error) {
  node.textContent = error ? error.message || String(error) : "";
  node.hidden = !error;
}

// Per-axis values once when they agree: [2, 2] -> "2", [2, 4] -> "2x4", null -> "-"
export function axesText(values) {
  if (values === null || values === undefined) return "-";
  if (!Array.isArray(values)) return String(values);
  const texts = values.map(String);
  return new Set(texts).size === 1 ? texts[0] : texts.join("x");
}

// 4100000000 -> "4.10G"
export function human(number) {
  for (const [unit, size] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["K", 1e3]]) {
    if (Math.abs(number) >= size) return `${(number / size).toFixed(2)}${unit}`;
  }
  return String(number);
}

export function table(columns, rows, attributes = {}) {
  const head = el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { text: c }))));
  const body = el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", { text: c })))));
  return el("table", attributes, head, body);
}

export function findingList(list, report) {
  list.replaceChildren();
  if (!report.findings.length) {
    list.append(el("li", { class: "clean", text: "no findings" }));
    return;
  }
  for (const f of report.findings) {
    list.append(
      el(
        "li",
        { class: `finding ${f.severity}`, "data-code": f.code },
        el("span", { class: "severity", text: f.severity }),
        " ",
        el("code", { text: f.code }),
        " ",
        el("span", { class: "node", text: f.node }),
        el("p", { class: "message", text: f.message }),
        el("p", { class: "fix", text: f.fix }),
      ),
    );
  }
}
