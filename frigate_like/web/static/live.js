// Live: the grid of every camera over the one WebSocket, and one camera on its own: its own video at
// camera quality (live.mp4 through Media Source Extensions, player.js), or the debug view with the
// detection overlays over its MJPEG stream, which is also the fallback when the browser cannot play
// the camera's codec (H.265 in most browsers) or the camera has no live video (a local device).
//
// Why the WebSocket for the grid: a browser opens at most six HTTP/1.1 connections per host, so one
// MJPEG stream per tile stalls every request past the sixth camera. One WebSocket carries every
// camera; the server encodes each frame once for all viewers and drops stale frames per client.
//
// In a cluster the WebSocket carries the cameras this node runs; /api/config lists every camera of
// the cluster, and the tiles of those another node runs poll latest.jpg (this node relays it from
// there), one request at a time, so they never take more than one of the browser's connections.
import { ApiError, config, get, getBlob, post, query } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { clock } from "./format.js";
import { playLive, Unplayable } from "./player.js";
import { live } from "./ws.js";

const GRID_FPS = 5;
const POLL_MS = 1000; // a camera of another node: latest.jpg about once a second
const OVERLAYS = ["bbox", "timestamp", "zones", "mask", "motion", "regions"];
const SWITCHES = ["detect", "clips", "snapshots"];

// Counters the browser tests and the first-paint measurement read.
const metrics = (window.__live = window.__live || { frames: {}, firstFrameAt: {} });

// One tile: a canvas drawn from decoded frames. Decoding is latest-frame-wins too: while a frame is
// being decoded, newer ones replace the pending one instead of queueing.
class Tile {
  constructor(name) {
    this.name = name;
    this.canvas = h("canvas", { width: 16, height: 9 });
    this.info = h("span", { class: "muted" }, "waiting for the first frame…");
    this.node = h(
      "a",
      { class: "tile", href: `#/camera/${encodeURIComponent(name)}`, dataset: { camera: name } },
      this.canvas,
      h("div", { class: "caption" }, h("strong", {}, name), this.info),
    );
    this.pending = null;
    this.busy = false;
  }

  push(frame) {
    this.pending = frame;
    if (!this.busy) this.drain();
  }

  async drain() {
    this.busy = true;
    while (this.pending) {
      const frame = this.pending;
      this.pending = null;
      try {
        const bitmap = await createImageBitmap(frame.jpeg);
        if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
          this.canvas.width = bitmap.width;
          this.canvas.height = bitmap.height;
        }
        this.canvas.getContext("2d").drawImage(bitmap, 0, 0);
        const size = `${frame.width || bitmap.width}×${frame.height || bitmap.height}`;
        bitmap.close();
        metrics.frames[this.name] = (metrics.frames[this.name] || 0) + 1;
        if (!(this.name in metrics.firstFrameAt)) metrics.firstFrameAt[this.name] = performance.now();
        this.info.textContent = `${size} · ${clock(frame.captureTime)}${frame.polled ? " · from its node" : ""}`;
        this.node.classList.add("has-frame");
      } catch (err) {
        this.info.textContent = `bad frame: ${err.message}`;
      }
    }
    this.busy = false;
  }
}

export function mountGrid(root) {
  const grid = h("div", { class: "grid" });
  const note = h("p", { class: "muted" }, "Waiting for the daemon's camera list…");
  clear(root, h("div", { class: "toolbar" }, h("h1", {}, "Live"), note), grid);
  const tiles = new Map();
  let here = []; // cameras this node runs (the WebSocket's state)
  let cluster = []; // every camera of the config (/api/config): in a cluster, some run on other nodes
  let paused = false;
  let mounted = true;
  const elsewhere = () => cluster.filter((name) => !here.includes(name));

  const render = () => {
    const names = [...new Set([...here, ...cluster])].sort();
    for (const [name, tile] of tiles) {
      if (!names.includes(name)) {
        tile.node.remove();
        tiles.delete(name);
      }
    }
    for (const name of names) {
      if (!tiles.has(name)) tiles.set(name, new Tile(name));
    }
    grid.replaceChildren(...names.map((name) => tiles.get(name).node));
    const others = elsewhere().length;
    note.textContent = names.length
      ? `${here.length} camera(s), ${GRID_FPS} fps each over one WebSocket${paused ? " · groups paused" : ""}` +
        (others ? ` · ${others} run by other nodes (a picture a second)` : "")
      : "No camera runs. Add one in the config or apply a camera group.";
  };

  const offState = live.on("state", (state) => {
    here = Object.keys(state.cameras || {});
    paused = Boolean(state.paused);
    render();
  });
  config()
    .then((cfg) => {
      cluster = Object.keys(cfg.cameras || {});
      render();
    })
    .catch(() => {}); // the WebSocket's cameras are shown anyway
  const offFrame = live.on("frame", (frame) => {
    const tile = tiles.get(frame.camera);
    if (tile) tile.push(frame);
  });
  live.want("grid", { cameras: null, maxFps: GRID_FPS });

  // The cameras run elsewhere, polled in turn (never two requests at once).
  const poll = async () => {
    while (mounted) {
      const started = performance.now();
      for (const name of elsewhere()) {
        if (!mounted) return;
        const tile = tiles.get(name);
        try {
          const jpeg = await getBlob(`api/${encodeURIComponent(name)}/latest.jpg${query({ h: 270 })}`);
          if (tile) tile.push({ jpeg, captureTime: Date.now() / 1000, polled: true });
        } catch (err) {
          if (err.status === 404) {
            cluster = cluster.filter((other) => other !== name); // no node runs it (a removed group camera)
            render();
          } else if (tile) tile.info.textContent = `no picture from its node (${err.status || "?"}): ${err.message}`;
        }
      }
      await new Promise((done) => setTimeout(done, Math.max(100, POLL_MS - (performance.now() - started))));
    }
  };
  poll();
  return () => {
    mounted = false;
    offState();
    offFrame();
    live.drop("grid");
  };
}

// -- one camera -------------------------------------------------------------------------------------
export function mountCamera(root, [name]) {
  const options = { bbox: true, timestamp: true, zones: false, mask: false, motion: false, regions: false };
  const stream = h("img", { class: "stream", alt: `${name} live`, hidden: true });
  const video = h("video", { class: "stream live-video", muted: true, playsInline: true, hidden: true });
  const streamStatus = h("p", { class: "muted" }, "connecting to the stream…");
  let view = "video"; // "video": camera quality; "debug": the detect stream with overlays
  let stopVideo = null;
  const setStream = () => {
    const flags = Object.fromEntries(OVERLAYS.map((o) => [o, options[o] ? 1 : 0]));
    stream.src = ""; // ends the previous MJPEG connection before opening the next
    stream.src = `api/${encodeURIComponent(name)}${query({ fps: 5, h: 432, ...flags })}`;
    stream.dataset.overlays = OVERLAYS.filter((o) => options[o]).join(",");
  };
  let note = ""; // why the JPEG stream is shown instead of the camera's video (kept once the stream loads)
  stream.addEventListener("load", () => {
    if (view === "debug") streamStatus.textContent = note;
  });
  stream.addEventListener("error", () => {
    streamStatus.textContent = `The stream of ${name} is not available (unknown camera, not started yet, or too many viewers).`;
  });
  video.addEventListener("livestreamended", () => {
    if (view === "video") streamStatus.textContent = "The live video ended (camera reconnecting?): reopen the view.";
  });
  const overlayBox = h("div", { class: "overlays", hidden: true }, h("span", {}, "Overlays:"));
  const viewInputs = [
    ["video", "camera quality"],
    ["debug", "detection overlays"],
  ].map(([value, label]) =>
    h(
      "label",
      { class: "toggle" },
      h("input", { type: "radio", name: "view", value, checked: value === view, onchange: () => setView(value) }),
      label,
    ),
  );
  async function setView(wanted, why = "") {
    view = wanted;
    note = why;
    viewInputs.forEach((label) => (label.firstChild.checked = label.firstChild.value === wanted));
    if (stopVideo) {
      stopVideo();
      stopVideo = null;
    }
    const debug = wanted === "debug";
    video.hidden = debug;
    stream.hidden = !debug;
    overlayBox.hidden = !debug;
    if (debug) {
      setStream();
      streamStatus.textContent = note;
      return;
    }
    stream.src = "";
    streamStatus.textContent = "connecting to the camera's video…";
    try {
      const stop = await playLive(video, `api/${encodeURIComponent(name)}/live.mp4`);
      if (view !== "video") return stop(); // the user switched meanwhile
      stopVideo = stop;
      streamStatus.textContent = "";
    } catch (err) {
      if (view !== "video") return;
      const why = err instanceof Unplayable ? err.message : `no live video (${err.message})`;
      setView("debug", `${why}: showing the detect stream instead.`);
    }
  }
  video.addEventListener("resize", () => {
    video.dataset.size = `${video.videoWidth}x${video.videoHeight}`;
    streamStatus.textContent = view === "video" ? `${video.videoWidth}×${video.videoHeight}, as the camera sends it` : "";
  });
  const toggles = OVERLAYS.map((overlay) =>
    h(
      "label",
      { class: "toggle" },
      h("input", {
        type: "checkbox",
        name: overlay,
        checked: options[overlay],
        onchange: (event) => {
          options[overlay] = event.target.checked;
          setStream();
        },
      }),
      overlay,
    ),
  );
  overlayBox.append(...toggles);
  const switches = h("div", { class: "switches" }, h("span", { class: "muted" }, "loading switches…"));
  const best = h("div", { class: "best" });
  const stats = h("dl", { class: "facts" });
  clear(
    root,
    h("div", { class: "toolbar" }, h("a", { href: "#/live" }, "← all cameras"), h("h1", {}, name)),
    h(
      "div",
      { class: "camera-view" },
      h(
        "section",
        {},
        h("div", { class: "views" }, h("span", {}, "View:"), viewInputs),
        video,
        stream,
        streamStatus,
        overlayBox,
      ),
      h(
        "aside",
        {},
        h("h2", {}, "Switches"),
        switches,
        h("h2", {}, "Now"),
        stats,
        h("h2", {}, "Best picture per label"),
        best,
      ),
    ),
  );
  setView("video");
  loadSwitches(name, switches);
  loadBest(name, best);
  const refreshStats = () => loadStats(name, stats);
  refreshStats();
  const timer = setInterval(() => {
    refreshStats();
    best.querySelectorAll("img").forEach((img) => (img.src = img.dataset.src + `&t=${Date.now()}`));
  }, 5000);
  return () => {
    clearInterval(timer);
    view = "gone";
    if (stopVideo) stopVideo();
    stream.src = "";
  };
}

async function loadSwitches(name, box) {
  let states;
  try {
    states = (await get("api/switches"))[name];
  } catch (err) {
    clear(box, errorLine(err, "Cannot read the switches"));
    return;
  }
  if (!states) {
    clear(box, h("p", { class: "error" }, `The daemon has no switches for ${name}.`));
    return;
  }
  const message = h("p", { class: "muted" });
  const inputs = SWITCHES.map((switchName) =>
    h(
      "label",
      { class: "toggle switch" },
      h("input", {
        type: "checkbox",
        name: switchName,
        checked: states[switchName],
        onchange: async (event) => {
          const wanted = event.target.checked;
          event.target.disabled = true;
          try {
            const now = await post(`api/${encodeURIComponent(name)}/switches`, { [switchName]: wanted });
            inputs.forEach((label) => (label.firstChild.checked = now[label.firstChild.name]));
            message.textContent =
              now[switchName] === wanted
                ? `${switchName} is ${wanted ? "ON" : "OFF"}`
                : `${switchName} stayed ${now[switchName] ? "ON" : "OFF"} (see the daemon's log: clips need an input with the clips role)`;
            message.className = now[switchName] === wanted ? "muted" : "error";
          } catch (err) {
            event.target.checked = !wanted;
            message.textContent = `${switchName} could not be changed (${err.status || "?"}): ${err.message}`;
            message.className = "error";
          } finally {
            event.target.disabled = false;
          }
        },
      }),
      switchName,
    ),
  );
  clear(box, inputs, message);
}

async function loadBest(name, box) {
  let labels = [];
  try {
    const cam = (await config()).cameras[name];
    labels = cam ? cam.objects.track : [];
  } catch (err) {
    clear(box, errorLine(err, "Cannot read the config"));
    return;
  }
  if (!labels.length) {
    clear(box, h("p", { class: "muted" }, "This camera tracks no labels."));
    return;
  }
  clear(
    box,
    labels.map((label) => {
      const src = `api/${encodeURIComponent(name)}/${encodeURIComponent(label)}/best.jpg?h=160`;
      const note = h("figcaption", {}, label);
      const img = h("img", { src, alt: `best ${label}`, dataset: { src } });
      img.addEventListener("error", () => {
        img.hidden = true;
        note.textContent = `${label}: none seen yet`;
      });
      img.addEventListener("load", () => {
        img.hidden = false;
        note.textContent = label;
      });
      return h("figure", {}, img, note);
    }),
  );
}

async function loadStats(name, list) {
  try {
    const stats = (await get("api/stats"))[name];
    if (!stats) throw new ApiError(404, `no statistics for ${name}`, "api/stats");
    const facts = [
      ["camera fps", stats.camera_fps],
      ["process fps", stats.process_fps],
      ["skipped fps", stats.skipped_fps],
      ["detection fps", stats.detection_fps],
      ["reconnects (1 h)", stats.reconnects_last_hour],
      ["live viewers", stats.live_viewers ?? "–"],
      ["restream clients", stats.restream ? stats.restream_clients : "off"],
    ];
    clear(list, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  } catch (err) {
    clear(list, errorLine(err, "No statistics"));
  }
}
