// The page's state in the URL: "#layer?size=7x7&kernel=3..." restores the layer tab,
// "#model?name=torchvision:resnet18&input=1x3x224x224" the model tab.

export function readHash() {
  const text = decodeURIComponent(location.hash.slice(1));
  const [tab, query = ""] = text.split("?");
  return { tab: tab || "layer", params: new URLSearchParams(query) };
}

export function writeHash(tab, params) {
  const query = new URLSearchParams(params).toString();
  const hash = `#${tab}${query ? `?${query}` : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

export function shareLink() {
  return location.href;
}
