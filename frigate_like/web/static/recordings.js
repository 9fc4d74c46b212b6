// Recordings: one camera's day as a timeline (footage, gaps, events); click to play from that moment,
// drag to choose a range to play or export. Playback uses the public export endpoint
// (/api/<camera>/recordings/<start>/<end>.mp4, segments joined without re-encoding) on windows aligned
// to WINDOW_S, so clicks in the same window reuse one cached file; at a window's end the next loads.
import { config, get, query } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { clock, dateTime, dayBounds, dayInputValue, duration } from "./format.js";
import { live } from "./ws.js";

const WINDOW_S = 600;
const DAY_S = 86400;
const DRAG_PX = 5;
const ZOOMS = [[DAY_S, "24 h", 7200], [6 * 3600, "6 h", 1800], [3600, "1 h", 300], [600, "10 min", 60]]; // span, name, tick

// Footage spans of a day from the API's hours: each hour's [start, end] minus the gaps.
export function footageSpans(days) {
  const spans = [];
  const gaps = [];
  const events = [];
  for (const day of days) {
    for (const hour of day.recordings) {
      spans.push([hour.start, hour.end]);
      gaps.push(...hour.gaps.map((g) => [g.start, g.end, g.ongoing]));
      events.push(...hour.events);
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  let footage = merged;
  for (const [gs, ge] of gaps) {
    footage = footage.flatMap(([s, e]) => (ge <= s || gs >= e ? [[s, e]] : [[s, gs], [ge, e]].filter(([a, b]) => b - a > 0.5)));
  }
  return { footage, gaps, events };
}

// Maps wall-clock time to the position in an export of [w0, w1] (gaps are left out of the file).
class WindowMap {
  constructor(footage, w0, w1) {
    this.pieces = footage.map(([s, e]) => [Math.max(s, w0), Math.min(e, w1)]).filter(([s, e]) => e > s);
    this.w0 = w0;
    this.w1 = w1;
  }
  toVideo(t) {
    let offset = 0;
    for (const [s, e] of this.pieces) {
      if (t < e) return offset + Math.max(0, t - s);
      offset += e - s;
    }
    return offset;
  }
  toWall(v) {
    let offset = 0;
    for (const [s, e] of this.pieces) {
      if (v <= offset + (e - s)) return s + (v - offset);
      offset += e - s;
    }
    return this.pieces.length ? this.pieces[this.pieces.length - 1][1] : this.w0;
  }
}

export function mountRecordings(root, [initialCamera]) {
  const cameraSelect = h("select", { name: "camera" });
  const dayInput = h("input", { type: "date", name: "day", value: dayInputValue(Date.now() / 1000) });
  const summary = h("p", { class: "muted" });
  const bar = h("div", { class: "timeline", tabindex: 0, title: "click: play from here · drag: choose a range" });
  const hours = h("div", { class: "hours" });
  const zoom = h("select", { name: "zoom" }, ZOOMS.map(([span, name]) => h("option", { value: span }, name)));
  const pan = (direction) => () => {
    view[0] = Math.min(day[1] - span(), Math.max(day[0], view[0] + (direction * span()) / 2));
    draw();
  };
  const video = h("video", { class: "player", controls: true, muted: true, playsInline: true, preload: "auto", hidden: true });
  const playing = h("p", { class: "muted" }, "Click the timeline to play.");
  const selection = h("div", { class: "selection-actions" });
  clear(
    root,
    h("div", { class: "toolbar" }, h("h1", {}, "Recordings"), h("label", {}, "Camera ", cameraSelect), h("label", {}, "Day ", dayInput),
      h("button", { type: "button", onclick: () => load() }, "Refresh"), h("label", {}, "Zoom ", zoom),
      h("button", { type: "button", title: "earlier", onclick: pan(-1) }, "◀"), h("button", { type: "button", title: "later", onclick: pan(1) }, "▶")),
    summary,
    h("div", { class: "timeline-wrap" }, bar, hours),
    h("p", { class: "legend" }, h("span", { class: "key footage" }), "footage ", h("span", { class: "key gap" }), "gap ",
      h("span", { class: "key event" }), "event ", h("span", { class: "key sel" }), "selection"),
    selection,
    video,
    playing,
  );

  let spans = { footage: [], gaps: [], events: [] };
  let day = [0, 0];
  const view = [0]; // the start of the shown span; its length is the zoom
  const span = () => Number(zoom.value);
  let current = null; // {camera, map: WindowMap}
  const playhead = h("div", { class: "playhead", hidden: true });

  const x2t = (clientX) => {
    const rect = bar.getBoundingClientRect();
    return view[0] + Math.min(1, Math.max(0, (clientX - rect.left) / rect.width)) * span();
  };
  const pct = (t) => `${((t - view[0]) / span()) * 100}%`;
  const width = (a, b) => `${Math.max(0.05, ((b - a) / span()) * 100)}%`;

  // Zooms in on the footage: the smallest span holding all of it, else the latest part.
  function fitView() {
    const footage = spans.footage.filter(([s, e]) => e > day[0] && s < day[1]);
    if (!footage.length) {
      zoom.value = String(DAY_S);
      view[0] = day[0];
      return;
    }
    const first = Math.max(day[0], footage[0][0]);
    const last = Math.min(day[1], footage[footage.length - 1][1]);
    const fits = ZOOMS.filter(([length]) => length >= last - first).pop() || ZOOMS[0];
    zoom.value = String(fits[0]);
    view[0] = Math.max(day[0], Math.min(day[1] - fits[0], last - fits[0] * 0.9));
  }

  function drawTicks() {
    const step = ZOOMS.find(([length]) => length === span())[2];
    const ticks = [];
    for (let t = Math.ceil(view[0] / step) * step; t < view[0] + span(); t += step) {
      if (t > view[0]) ticks.push(h("span", { style: `left:${pct(t)}` }, clock(t).slice(0, 5)));
    }
    hours.replaceChildren(...ticks);
  }

  function draw() {
    drawTicks();
    const [d0, d1] = [view[0], view[0] + span()];
    const inDay = ([s, e]) => e > d0 && s < d1;
    const block = (cls, s, e, title) => h("div", { class: cls, style: `left:${pct(Math.max(s, d0))};width:${width(Math.max(s, d0), Math.min(e, d1))}`, title });
    bar.replaceChildren(
      ...spans.footage.filter(inDay).map(([s, e]) => block("footage", s, e, `${clock(s)}–${clock(e)}`)),
      ...spans.gaps.filter(inDay).map(([s, e, ongoing]) => block("gap", s, e, `gap ${clock(s)}–${clock(e)} (${duration(e - s)})${ongoing ? ", ongoing" : ""}`)),
      ...spans.events.filter((ev) => ev.start_time < d1 && (ev.end_time ?? ev.start_time) > d0)
        .map((ev) => block("event", ev.start_time, ev.end_time ?? ev.start_time + 1, `${ev.label} at ${clock(ev.start_time)}`)),
      playhead,
    );
  }

  async function load() {
    const camera = cameraSelect.value;
    if (!camera) return;
    day = dayBounds(dayInput.value);
    summary.textContent = "Loading…";
    try {
      const days = await get(`api/${encodeURIComponent(camera)}/recordings${query({ after: day[0], before: day[1] })}`);
      spans = footageSpans(days);
      const total = spans.footage.reduce((sum, [s, e]) => sum + Math.min(e, day[1]) - Math.max(s, day[0]), 0);
      summary.textContent = spans.footage.length
        ? `${duration(total)} of footage, ${spans.gaps.length} gap(s), ${spans.events.length} event(s)`
        : "No footage on this day (is record enabled for this camera?).";
      bar.dataset.footage = JSON.stringify(spans.footage);
    } catch (err) {
      spans = { footage: [], gaps: [], events: [] };
      clear(summary, errorLine(err, "Cannot read the recordings"));
    }
    fitView();
    draw();
  }

  // Plays from wall time t: the aligned window holding t (or the next footage after it).
  async function playFrom(t, until = null) {
    const camera = cameraSelect.value;
    const next = spans.footage.find(([, e]) => e > t);
    if (!next) {
      playing.textContent = `No footage at or after ${clock(t)}.`;
      return;
    }
    const from = Math.max(t, next[0]);
    const w0 = Math.floor(from / WINDOW_S) * WINDOW_S;
    const w1 = until === null ? w0 + WINDOW_S : until;
    const start = until === null ? w0 : t;
    const map = new WindowMap(spans.footage, start, w1);
    current = { camera, map, until };
    video.hidden = false;
    playing.textContent = `Preparing ${clock(start)}–${clock(w1)}…`;
    video.src = `api/${encodeURIComponent(camera)}/recordings/${start.toFixed(3)}/${w1.toFixed(3)}.mp4`;
    video.dataset.requested = String(from);
    video.addEventListener(
      "loadedmetadata",
      () => {
        video.currentTime = map.toVideo(from);
        video.play().catch(() => {});
      },
      { once: true },
    );
    if (from > t + 1) playing.textContent = `No footage at ${clock(t)}; playing from ${clock(from)}.`;
  }

  video.addEventListener("timeupdate", () => {
    if (!current) return;
    const wall = current.map.toWall(video.currentTime);
    video.dataset.wallTime = String(wall);
    playhead.hidden = false;
    playhead.style.left = pct(wall);
    playing.textContent = `${current.camera} at ${dateTime(wall)}`;
  });
  video.addEventListener("ended", () => {
    if (current && current.until === null) playFrom(current.map.w1); // on into the next window
  });
  video.addEventListener("error", () => {
    playing.textContent = "This span cannot be played: " + (video.error ? video.error.message || `error ${video.error.code}` : "unknown error") +
      ". It may have no footage, or it may have just been deleted by retention.";
  });

  // click vs drag on the bar
  let down = null;
  let sel = null;
  bar.addEventListener("pointerdown", (e) => {
    down = e.clientX;
    bar.setPointerCapture(e.pointerId);
  });
  bar.addEventListener("pointermove", (e) => {
    if (down === null || Math.abs(e.clientX - down) < DRAG_PX) return;
    const [a, b] = [x2t(down), x2t(e.clientX)].sort((p, q) => p - q);
    if (!sel) {
      sel = h("div", { class: "sel" });
      bar.append(sel);
    }
    sel.style.left = pct(a);
    sel.style.width = width(a, b);
  });
  bar.addEventListener("pointerup", (e) => {
    if (down === null) return;
    const start = down;
    down = null;
    if (Math.abs(e.clientX - start) < DRAG_PX) {
      if (sel) sel.remove();
      sel = null;
      clear(selection);
      playFrom(x2t(e.clientX));
      return;
    }
    const [a, b] = [x2t(start), x2t(e.clientX)].sort((p, q) => p - q);
    const camera = cameraSelect.value;
    const href = `api/${encodeURIComponent(camera)}/recordings/${a.toFixed(3)}/${b.toFixed(3)}.mp4`;
    clear(
      selection,
      h("span", {}, `${clock(a)}–${clock(b)} (${duration(b - a)}) `),
      h("button", { type: "button", onclick: () => playFrom(a, b) }, "Play range"),
      h("a", { class: "button", href, download: `${camera}-${dayInput.value}-${clock(a)}-${clock(b)}.mp4` }, "Export mp4"),
    );
  });

  const fill = (names) => {
    const chosen = cameraSelect.value || initialCamera;
    clear(cameraSelect, names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
  };
  Promise.all([config().catch(() => ({ cameras: {} })), live.firstState()])
    .then(([cfg, state]) => {
      fill([...new Set([...Object.keys(cfg.cameras), ...Object.keys(state.cameras || {})])].sort());
      load();
    })
    .catch((err) => clear(summary, errorLine(err, "Cannot list the cameras")));
  cameraSelect.addEventListener("change", load);
  zoom.addEventListener("change", () => {
    const middle = current && video.dataset.wallTime ? Number(video.dataset.wallTime) : view[0] + span() / 2;
    view[0] = Math.max(day[0], Math.min(day[1] - span(), middle - span() / 2));
    draw();
  });
  dayInput.addEventListener("change", load);
  return () => {
    video.pause();
    video.removeAttribute("src");
  };
}
