// The one place the UI speaks HTTP: JSON in and out, failures as ApiError carrying the server's detail.

let bearer = null; // only for a daemon without /api/login: kept in this tab's memory, never stored

export class ApiError extends Error {
  constructor(status, detail, url) {
    super(detail);
    this.status = status;
    this.url = url;
  }
}

const authListeners = new Set(); // told about every 401/403, so the page can offer the token dialog
export function onAuthNeeded(listener) {
  authListeners.add(listener);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function request(method, url, body, changesState = method !== "GET") {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  // a change is always sent as JSON, even without a body: the server's rule against cross-site
  // requests (an HTML form or <img> cannot send this type)
  if (changesState || body !== undefined) headers["Content-Type"] = "application/json";
  if (body !== undefined) init.body = JSON.stringify(body);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, `the daemon did not answer (${err.message}); is it running?`, url);
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const detail = data && data.detail ? data.detail : `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, detail, url);
    if (response.status === 401 || response.status === 403) authListeners.forEach((listener) => listener(error));
    throw error;
  }
  return data;
}

export const get = (url) => request("GET", url);

// A picture as a Blob, with the same credentials as every other request (latest.jpg polled by the grid).
export async function getBlob(url) {
  const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, `${response.status} ${response.statusText}`, url);
  return response.blob();
}
// the SkellyCam API's GETs that change state (pause/unpause, record stop)
export const change = (url) => request("GET", url, undefined, true);
export const post = (url, body = {}) => request("POST", url, body);
export const del = (url) => request("DELETE", url);

// Signs in: the daemon sets an HttpOnly cookie that <img>, <video> and the WebSocket carry too.
// A daemon without /api/login only knows Bearer headers: then the token stays in memory for fetches.
export async function login(token) {
  try {
    await post("api/login", { token });
    bearer = null;
    return "cookie";
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      bearer = token;
      return "header";
    }
    throw err;
  }
}

export async function logout() {
  bearer = null;
  try {
    await post("api/logout", {});
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
  }
}

// The effective config, fetched once per page load (camera names, labels, zones).
let configPromise = null;
export function config() {
  if (configPromise === null) {
    configPromise = get("api/config").catch((err) => {
      configPromise = null;
      throw err;
    });
  }
  return configPromise;
}
