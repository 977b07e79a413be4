// Calls to the explorer's JSON API. Every answer is the JSON the CLI prints with
// --format json; an error is {"error": message, "type": name} with a 4xx status.

export class ApiError extends Error {
  constructor(message, type, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

async function answer(response) {
  const text = await response.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ApiError(`the server answered ${response.status} without JSON`, "HTTPError", response.status);
  }
  if (!response.ok) {
    throw new ApiError(data.error || `status ${response.status}`, data.type || "HTTPError", response.status);
  }
  return data;
}

export async function post(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  return answer(response);
}

export async function get(path, params = {}, signal) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(query ? `${path}?${query}` : path, { signal });
  return answer(response);
}

export async function upload(path, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch(path, { method: "POST", body: form });
  return answer(response);
}

// One request at a time per purpose: a newer call aborts the older one, so a slow
// answer never overwrites a newer one.
export function latest() {
  let controller = null;
  return (call) => {
    if (controller) controller.abort();
    controller = new AbortController();
    return call(controller.signal);
  };
}

export function isAbort(error) {
  return error && error.name === "AbortError";
}
