// Camera groups, manual recordings and playback: the SkellyCam API (/skellycam/...) in one page.
import { change, del, get, post } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { bytes, duration } from "./format.js";
import { live } from "./ws.js";

const TEMPLATE = {
  camera_configs: {
    "000": {
      camera_id: "000",
      camera_name: "Camera-000",
      camera_index: 0,
      use_this_camera: true,
      resolution: { width: 1280, height: 720 },
      framerate: -1,
      source: null,
      loop: false,
    },
  },
};
const SYNC_TOLERANCE_S = 0.1;

export function mountGroups(root) {
  const devices = h("div", {}, h("p", { class: "muted" }, "Looking for cameras…"));
  const microphones = h("div", {});
  const groups = h("div", {});
  const editor = h("textarea", { class: "json", name: "group", rows: 16, spellcheck: false });
  editor.value = JSON.stringify(TEMPLATE, null, 2);
  const applyResult = h("p", { class: "muted" });
  const recorder = recordingPanel();
  const library = playbackPanel();
  const pauseButton = h("button", { type: "button", name: "pause" }, "Pause all");

  const act = async (what, call, out) => {
    try {
      const result = await call();
      out.className = "ok";
      out.textContent = `${what}: done`;
      return result;
    } catch (err) {
      clear(out, errorLine(err, `${what} failed`));
      return null;
    }
  };
  pauseButton.onclick = () => act("Pause/unpause", () => change("skellycam/camera/group/all/pause_unpause"), applyResult);
  const apply = async () => {
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (err) {
      applyResult.className = "error";
      applyResult.textContent = `The group is not valid JSON: ${err.message}`;
      return;
    }
    const result = await act("Apply", () => post("skellycam/camera/group/apply", body), applyResult);
    if (result) applyResult.textContent = `Applied group ${result.group_id}: ${Object.keys(result.camera_configs).length} camera(s). They appear in Live once their first frame arrives.`;
  };

  clear(
    root,
    h("div", { class: "toolbar" }, h("h1", {}, "Camera groups & manual recordings")),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        {},
        h("h2", {}, "Groups"),
        groups,
        h("div", { class: "row" }, pauseButton,
          h("button", { type: "button", name: "close-all", onclick: () => act("Close all", () => del("skellycam/camera/group/close/all"), applyResult) }, "Close all")),
        h("h2", {}, "Apply or edit a group"),
        h("p", { class: "muted" }, "camera_configs per camera id; a camera may name a ", h("code", {}, "source"), " (URL or file) instead of a device ", h("code", {}, "camera_index"), "."),
        addCameraForm(editor, () => (edited = true)),
        editor,
        h("div", { class: "row" }, h("button", { type: "button", name: "apply", class: "primary", onclick: apply }, "Apply group"),
          h("button", { type: "button", name: "new-group", onclick: () => ((edited = true), (editor.value = JSON.stringify({ camera_configs: {} }, null, 2))) }, "New group")),
        applyResult,
        h("h2", {}, "Devices"),
        devices,
        microphones,
      ),
      h("section", {}, h("h2", {}, "Manual recording"), recorder.node, h("h2", {}, "Recordings"), library.node),
    ),
  );

  let edited = false; // until the user types, the editor shows the first group (or the template)
  editor.addEventListener("input", () => (edited = true));
  const offState = live.on("state", (state) => {
    if (state.recording) recorder.show(state.recording);
    const first = Object.values(state.groups || {})[0];
    if (!edited && first) editor.value = JSON.stringify({ camera_configs: first.camera_configs }, null, 2);
    pauseButton.textContent = state.paused ? "Resume all" : "Pause all";
    const entries = Object.entries(state.groups || {});
    clear(
      groups,
      entries.length
        ? entries.map(([id, group]) =>
            h(
              "div",
              { class: "group", dataset: { group: id } },
              h("strong", {}, `group ${id} `),
              h("button", { type: "button", onclick: () => ((edited = true), (editor.value = JSON.stringify({ camera_configs: group.camera_configs }, null, 2))) }, "Edit"),
              h("ul", {}, Object.entries(group.cameras).map(([cid, cam]) =>
                h("li", {}, `${cid} → ${cam.name || group.camera_configs[cid].camera_name || "?"} `,
                  cam.running ? h("span", { class: "badge live" }, state.paused ? "paused" : "running") : h("span", { class: "badge" }, "stopped"),
                  cam.error ? h("span", { class: "error" }, ` ${cam.error}`) : ""))),
            ),
          )
        : h("p", { class: "muted" }, "No camera group is applied."),
    );
  });
  live.want("groups", { cameras: [] });

  post("skellycam/camera/detect")
    .then((found) =>
      clear(devices, found.cameras.length
        ? h("table", {}, h("tr", {}, ["index", "name", "path", "backend"].map((c) => h("th", {}, c))),
            found.cameras.map((cam) => h("tr", {}, h("td", {}, cam.index), h("td", {}, cam.name), h("td", {}, cam.path), h("td", {}, cam.backend_name))))
        : h("p", { class: "muted" }, "No local capture device found (files and URLs still work as a source).")))
    .catch((err) => clear(devices, errorLine(err, "Camera discovery failed")));
  get("skellycam/camera/microphone/detect")
    .then((found) => {
      recorder.setMicrophones(found.microphones);
      const names = Object.entries(found.microphones);
      clear(microphones, h("p", { class: "muted" }, names.length ? `Microphones: ${names.map(([i, n]) => `${i}: ${n}`).join(", ")}` : "No microphone found."));
    })
    .catch((err) => clear(microphones, errorLine(err, "Microphone discovery failed")));
  library.refresh();
  recorder.onStopped = () => library.refresh();

  return () => {
    offState();
    live.drop("groups");
    recorder.close();
    library.close();
  };
}

// A row that adds one camera (a file or stream URL) to the group in the editor.
function addCameraForm(editor, onEdit) {
  const name = h("input", { name: "new_camera_name", placeholder: "camera name", size: 14 });
  const source = h("input", { name: "new_camera_source", placeholder: "rtsp://… or /path/to/video.mp4", size: 30 });
  const loop = h("input", { type: "checkbox", name: "new_camera_loop" });
  const size = h("input", { name: "new_camera_size", value: "640x360", size: 9, title: "width x height (even numbers)" });
  const fps = h("input", { type: "number", name: "new_camera_fps", value: 5, min: 1, max: 60, style: "width: 5em", title: "frames per second" });
  const problem = h("span", { class: "error" });
  const add = () => {
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (err) {
      problem.textContent = `fix the JSON first: ${err.message}`;
      return;
    }
    const configs = (body.camera_configs = body.camera_configs || {});
    let id = 0;
    while (String(id).padStart(3, "0") in configs) id++;
    const cameraId = String(id).padStart(3, "0");
    const [width, height] = size.value.split(/[x×]/).map(Number);
    if (!(width > 0 && height > 0)) {
      problem.textContent = "size is width x height, e.g. 640x360";
      return;
    }
    configs[cameraId] = {
      camera_id: cameraId, camera_name: name.value || `Camera-${cameraId}`, source: source.value || null,
      loop: loop.checked, resolution: { width, height }, framerate: Number(fps.value) || -1,
    };
    editor.value = JSON.stringify(body, null, 2);
    problem.textContent = "";
    onEdit();
  };
  return h("div", { class: "row" }, name, source, size, fps, h("label", { class: "toggle" }, loop, "loop"),
    h("button", { type: "button", name: "add-camera", onclick: add }, "Add camera"), problem);
}

function recordingPanel() {
  const name = h("input", { name: "recording_name", placeholder: "name (default: the date and time)", pattern: "[A-Za-z0-9][A-Za-z0-9._-]*" });
  const mic = h("select", { name: "mic" }, h("option", { value: "-1" }, "no audio"));
  const status = h("p", { class: "muted" }, "Not recording.");
  const start = h("button", { type: "button", name: "record-start", class: "primary" }, "Start recording");
  const stop = h("button", { type: "button", name: "record-stop", disabled: true }, "Stop");
  let timer = null;
  let running = false;
  const panel = {
    node: h("div", {}, h("div", { class: "row" }, name, mic), h("div", { class: "row" }, start, stop), status),
    onStopped: () => {},
    setMicrophones(found) {
      clear(mic, h("option", { value: "-1" }, "no audio"), Object.entries(found).map(([i, n]) => h("option", { value: i }, n)));
    },
    // The daemon's `recording` state (every tab hears of a recording, whoever started it, also after a reload).
    show(recording) {
      clearInterval(timer);
      start.disabled = recording.is_recording;
      stop.disabled = !recording.is_recording;
      if (recording.is_recording) {
        const tick = () => (status.textContent = `● recording ${recording.recording_name} for ${duration(Math.max(0, Date.now() / 1000 - recording.started_unix_s))}`);
        status.className = "recording";
        tick();
        timer = setInterval(tick, 500);
      } else if (running) {
        status.className = "ok";
        status.textContent = "Stopped; the recording is listed below.";
        panel.onStopped();
      }
      running = recording.is_recording;
    },
    close() {
      clearInterval(timer);
    },
  };
  start.onclick = async () => {
    start.disabled = true;
    try {
      await post("skellycam/camera/group/all/record/start", { recording_name: name.value || null, mic_device_index: Number(mic.value) });
    } catch (err) {
      start.disabled = running;
      clear(status, errorLine(err, "Cannot start recording"));
    }
  };
  stop.onclick = async () => {
    stop.disabled = true;
    try {
      await change("skellycam/camera/group/all/record/stop");
    } catch (err) {
      stop.disabled = !running;
      clear(status, errorLine(err, "Cannot stop recording"));
    }
  };
  return panel;
}

function playbackPanel() {
  const list = h("div", {});
  const player = h("div", { class: "sync-player" });
  let closePlayer = () => {};
  const panel = {
    node: h("div", {}, list, player),
    async refresh() {
      try {
        const recordings = await get("skellycam/playback/recordings");
        clear(list, recordings.length
          ? h("table", { class: "recordings" }, h("tr", {}, ["name", "videos", "length", "fps", "size", ""].map((c) => h("th", {}, c))),
              recordings.map((r) => h("tr", { dataset: { name: r.name } }, h("td", {}, r.name), h("td", {}, r.video_count),
                h("td", {}, duration(r.duration_seconds)), h("td", {}, r.fps ? r.fps.toFixed(1) : "–"), h("td", {}, bytes(r.total_size_bytes)),
                h("td", {}, h("button", { type: "button", name: "play", onclick: () => open(r) }, "Play")))))
          : h("p", { class: "muted" }, "No recording yet."));
      } catch (err) {
        clear(list, errorLine(err, "Cannot list the recordings"));
      }
    },
    close: () => closePlayer(),
  };
  async function open(recording) {
    closePlayer();
    clear(player, h("p", { class: "muted" }, `Loading ${recording.name}…`));
    try {
      const loaded = await post("skellycam/playback/load", { recording_path: recording.path });
      const { timestamps } = await get("skellycam/playback/timestamps");
      closePlayer = syncPlayer(player, recording.name, loaded.videos, timestamps);
    } catch (err) {
      clear(player, errorLine(err, `Cannot load ${recording.name}`));
    }
  }
  return panel;
}

// Several videos as one: the first is the clock; the others follow it within SYNC_TOLERANCE_S.
function syncPlayer(box, name, videos, timestamps) {
  const items = videos.map((v) => {
    const video = h("video", { src: v.stream_url.replace(/^\//, ""), muted: true, playsInline: true, preload: "auto", dataset: { id: v.video_id } });
    const label = h("figcaption", {}, v.video_id);
    return { id: v.video_id, video, label, times: timestamps[v.video_id] || null };
  });
  const master = items[0].video;
  const scrub = h("input", { type: "range", min: 0, max: 0, step: 0.01, value: 0, name: "scrub" });
  const playButton = h("button", { type: "button", name: "play-all" }, "Play");
  const position = h("span", { class: "muted" });
  clear(
    box,
    h("h3", {}, name),
    h("div", { class: "sync-grid" }, items.map((i) => h("figure", {}, i.video, i.label))),
    h("div", { class: "row" }, playButton, scrub, position),
  );
  const all = (fn) => items.forEach((i) => fn(i.video));
  playButton.onclick = () => {
    if (master.paused) all((v) => v.play().catch(() => {}));
    else all((v) => v.pause());
  };
  scrub.oninput = () => all((v) => (v.currentTime = Number(scrub.value)));
  master.addEventListener("loadedmetadata", () => (scrub.max = String(master.duration)));
  master.addEventListener("play", () => (playButton.textContent = "Pause"));
  master.addEventListener("pause", () => (playButton.textContent = "Play"));
  master.addEventListener("ended", () => all((v) => v.pause()));
  let frame = 0;
  const tick = () => {
    const t = master.currentTime;
    scrub.value = String(t);
    position.textContent = `${t.toFixed(2)} s / ${Number.isFinite(master.duration) ? master.duration.toFixed(2) : "?"} s`;
    for (const item of items) {
      if (item.video !== master && Math.abs(item.video.currentTime - t) > SYNC_TOLERANCE_S) item.video.currentTime = t;
      if (item.times && item.times.length) {
        const index = frameAt(item.times, item.video.currentTime * 1000);
        item.label.textContent = `${item.id} · frame ${index} · ${(item.times[index] / 1000).toFixed(3)} s`;
        item.video.dataset.frame = String(index);
      }
    }
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  return () => {
    cancelAnimationFrame(frame);
    all((v) => {
      v.pause();
      v.removeAttribute("src");
    });
  };
}

// The index of the last frame whose timestamp (ms from the recording's start) is at or before ms.
function frameAt(times, ms) {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
