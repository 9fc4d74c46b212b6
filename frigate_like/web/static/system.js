// System: statistics refreshing, the effective config (secrets masked by the daemon), logs from the WebSocket.
import { get } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { clock, duration, megabytes } from "./format.js";
import { live } from "./ws.js";

const REFRESH_MS = 3000;
const MAX_LOG_LINES = 500;
// [column, value of a camera's stats]; the record section exists for cameras that record 24/7
const COLUMNS = [
  ["camera fps", (c) => c.camera_fps],
  ["process fps", (c) => c.process_fps],
  ["skipped fps", (c) => c.skipped_fps],
  ["detection fps", (c) => c.detection_fps],
  ["detect", (c) => (c.detection_enabled ? "on" : "off")],
  ["reconnects (1 h)", (c) => c.reconnects_last_hour],
  ["recording gaps", (c) => (c.record ? `${c.record.gaps} (${duration(c.record.gap_seconds)})` : "–")],
  ["record restarts", (c) => (c.record ? c.record.restarts : "–")],
  ["record backlog", (c) => (c.record ? c.record.backlog : "–")],
];

export function mountSystem(root) {
  const service = h("p", { class: "muted" });
  const cameras = h("div", {});
  const detectors = h("div", {});
  const storage = h("div", {});
  const configBox = h("pre", { class: "config" }, "loading…");
  const level = h("select", { name: "log_level" }, ["debug", "info", "warning", "error"].map((l) => h("option", { value: l, selected: l === "info" }, l)));
  const logBox = h("pre", { class: "logs" }, "Waiting for log records (at or above the chosen level)…");
  const follow = h("input", { type: "checkbox", checked: true });
  clear(
    root,
    h("div", { class: "toolbar" }, h("h1", {}, "System"), service),
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, "Cameras"), cameras, h("h2", {}, "Detectors"), detectors, h("h2", {}, "Storage"), storage),
      h("section", {}, h("h2", {}, "Logs ", level, h("label", { class: "toggle" }, follow, "follow")), logBox)),
    h("details", {}, h("summary", {}, "Effective config (passwords masked)"), configBox),
  );

  const refresh = async () => {
    try {
      render(await get("api/stats"));
    } catch (err) {
      clear(cameras, errorLine(err, "Cannot read the statistics"));
    }
  };
  function render(stats) {
    const { detectors: dets, service: svc, detection_fps: total, ...perCamera } = stats;
    service.textContent = `version ${svc.version} · up ${duration(svc.uptime)} · ${total} detections/s`;
    const names = Object.keys(perCamera).sort();
    clear(cameras, h("table", { class: "stats" },
      h("tr", {}, h("th", {}, "camera"), COLUMNS.map(([name]) => h("th", {}, name))),
      names.map((n) => h("tr", {}, h("td", {}, n), COLUMNS.map(([, value]) => h("td", {}, show(value(perCamera[n]))))))));
    clear(detectors, h("table", { class: "stats" }, h("tr", {}, ["detector", "inference ms", "pid"].map((c) => h("th", {}, c))),
      Object.entries(dets).map(([n, d]) => h("tr", {}, h("td", {}, n), h("td", {}, d.inference_speed), h("td", {}, show(d.pid))))));
    clear(storage, h("table", { class: "stats" }, h("tr", {}, ["path", "used", "free", "total", "type"].map((c) => h("th", {}, c))),
      Object.entries(svc.storage).map(([p, s]) => h("tr", {}, h("td", {}, p), h("td", {}, megabytes(s.used)), h("td", {}, megabytes(s.free)), h("td", {}, megabytes(s.total)), h("td", {}, s.mnt_type)))));
  }
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  get("api/config").then((cfg) => (configBox.textContent = JSON.stringify(cfg, null, 2))).catch((err) => clear(configBox, errorLine(err, "Cannot read the config")));

  const lines = [];
  const offLog = live.on("log", (record) => {
    const time = clock(record.time);
    lines.push(`${time} ${record.level.padEnd(7)} ${record.logger}: ${record.message}`);
    if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
    logBox.textContent = lines.join("\n");
    if (follow.checked) logBox.scrollTop = logBox.scrollHeight;
  });
  const subscribe = () => live.want("system", { cameras: [], logLevel: level.value });
  level.onchange = subscribe;
  subscribe();
  return () => {
    clearInterval(timer);
    offLog();
    live.drop("system");
  };
}

function show(value) {
  return value === null || value === undefined ? "–" : String(value);
}
