// The page shell: hash routes to page modules, the token dialog, the error banner, the WebSocket's status.
import { login, logout, onAuthNeeded } from "./api.js";
import { h, clear } from "./dom.js";
import { live } from "./ws.js";

// Each page module exports mount(root, params) → a function that undoes it (timers, wants, sockets).
const PAGES = {
  live: () => import("./live.js").then((m) => m.mountGrid),
  camera: () => import("./live.js").then((m) => m.mountCamera),
  events: () => import("./events.js").then((m) => m.mountEvents),
  recordings: () => import("./recordings.js").then((m) => m.mountRecordings),
  groups: () => import("./groups.js").then((m) => m.mountGroups),
  system: () => import("./system.js").then((m) => m.mountSystem),
};

const root = document.getElementById("page");
const banner = document.getElementById("banner");
let unmount = null;
let routeId = 0;

function showBanner(message, { kind = "error", action = null } = {}) {
  clear(banner, h("span", {}, message), action, h("button", { type: "button", onclick: hideBanner }, "Dismiss"));
  banner.className = kind;
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
}

async function route() {
  const id = ++routeId;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "live").split("/");
  const page = PAGES[name] ? name : "live";
  document.querySelectorAll("nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.page === (page === "camera" ? "live" : page));
  });
  if (unmount) unmount();
  unmount = null;
  hideBanner();
  try {
    const mount = await PAGES[page]();
    if (id !== routeId) return; // another navigation happened meanwhile
    clear(root);
    unmount = mount(root, rest.map(decodeURIComponent)) || null;
  } catch (err) {
    clear(root, h("p", { class: "error" }, `This page failed to load: ${err.message}`));
  }
}

// -- the token dialog ---------------------------------------------------------------------------
const dialog = document.getElementById("token-dialog");
const tokenInput = document.getElementById("token-input");
const tokenError = document.getElementById("token-error");

function openTokenDialog() {
  tokenError.hidden = true;
  tokenInput.value = "";
  dialog.showModal();
}

document.getElementById("token-button").addEventListener("click", openTokenDialog);
document.getElementById("token-cancel").addEventListener("click", () => dialog.close());
document.getElementById("token-logout").addEventListener("click", async () => {
  await logout().catch(() => {});
  dialog.close();
  showBanner("Signed out.", { kind: "info" });
});
document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const how = await login(tokenInput.value);
    dialog.close();
    showBanner(
      how === "cookie" ? "Signed in." : "Signed in for this tab (this daemon has no /api/login: the token is sent as a header).",
      { kind: "info" },
    );
  } catch (err) {
    tokenError.textContent = err.status === 401 || err.status === 403 ? "That token was refused." : err.message;
    tokenError.hidden = false;
  }
});

onAuthNeeded((err) => {
  const why = err.status === 403 ? "was refused (403)" : "needs the API token (401)";
  showBanner(`This action ${why}: ${err.message}`, {
    action: h("button", { type: "button", onclick: openTokenDialog }, "Enter token"),
  });
});

const wsStatus = document.getElementById("ws-status");
live.on("status", (status) => {
  wsStatus.textContent = `live: ${status}`;
  wsStatus.classList.toggle("ok", status === "connected");
});

window.addEventListener("hashchange", route);
route();
