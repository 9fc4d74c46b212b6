// Events: newest first with filters, paged by start time ("before" = the last row's start), never by
// offset, so every page costs one index range scan however deep the user scrolls.
//
// Filters the database cannot use an index for (zone, clip, snapshot) make it read rows until it has
// a page: for a filter that matches nothing, every row. So each request also bounds the start time to
// one WINDOW_S, and an empty window is followed by a cheap probe (camera and label only, indexed) for
// the next older event, which jumps over stretches without any. Each request then reads at most one
// window's events.
import { config, get, query } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { clock, dateTime, duration, fromLocalInput } from "./format.js";

const PAGE_SIZE = 50;
// A cursor just above the last start time re-reads the rows sharing that exact time (objects found in
// the same frame); rows already shown are skipped by id.
const TIE_EPSILON_S = 1e-6;
const WINDOW_S = 86400;
const MAX_REQUESTS = 30; // per "Load more"; past that the button asks the user to go on

export function mountEvents(root) {
  const form = h("form", { class: "filters", onsubmit: (e) => (e.preventDefault(), reset()) });
  const list = h("div", { class: "events" });
  const more = h("button", { type: "button", class: "more", onclick: () => loadPage() }, "Load more");
  const status = h("p", { class: "muted" });
  const detail = h("dialog", { class: "event-detail" });
  clear(root, h("div", { class: "toolbar" }, h("h1", {}, "Events")), form, list, status, more, detail);

  let upper = null; // the next request's "before" (null: from the newest)
  let seen = new Set();
  let loading = false;
  let done = false;
  let generation = 0; // a filter change starts a new listing; answers for an older one are dropped

  const field = (label, input) => h("label", {}, h("span", {}, label), input);
  const select = (name, options) =>
    h("select", { name }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o }, o)));
  const filters = {};

  config()
    .then((cfg) => {
      const cameras = Object.keys(cfg.cameras).sort();
      const labels = [...new Set(cameras.flatMap((c) => cfg.cameras[c].objects.track))].sort();
      const zones = [...new Set(cameras.flatMap((c) => Object.keys(cfg.cameras[c].zones || {})))].sort();
      filters.camera = select("camera", cameras);
      filters.label = select("label", labels);
      filters.zone = select("zone", zones);
      filters.after = h("input", { type: "datetime-local", name: "after", step: 1 });
      filters.before = h("input", { type: "datetime-local", name: "before", step: 1 });
      filters.has_clip = h("select", { name: "has_clip" }, ["", "1", "0"].map((v) => h("option", { value: v }, { "": "any", 1: "yes", 0: "no" }[v])));
      filters.has_snapshot = h("select", { name: "has_snapshot" }, ["", "1", "0"].map((v) => h("option", { value: v }, { "": "any", 1: "yes", 0: "no" }[v])));
      clear(
        form,
        field("Camera", filters.camera),
        field("Label", filters.label),
        field("Zone", filters.zone),
        field("From", filters.after),
        field("To", filters.before),
        field("Clip", filters.has_clip),
        field("Snapshot", filters.has_snapshot),
        h("button", { type: "submit" }, "Apply"),
      );
      Object.values(filters).forEach((input) => input.addEventListener("change", reset));
      reset();
    })
    .catch((err) => clear(form, errorLine(err, "Cannot read the config")));

  function reset() {
    generation++;
    loading = false;
    upper = null;
    seen = new Set();
    done = false;
    list.replaceChildren();
    loadPage();
  }

  async function loadPage() {
    if (loading || done || !filters.before) return; // not before the filters exist
    loading = true;
    const mine = generation;
    status.textContent = "Loading…";
    const userBefore = fromLocalInput(filters.before.value);
    const userAfter = fromLocalInput(filters.after.value);
    const indexed = {
      include_in_progress: 1, // running events too (issue 10's listing hides them by default)
      camera: filters.camera.value,
      label: filters.label.value,
    };
    const params = {
      ...indexed,
      include_thumbnails: 1,
      limit: PAGE_SIZE,
      zone: filters.zone.value,
      has_clip: filters.has_clip.value,
      has_snapshot: filters.has_snapshot.value,
    };
    try {
      if (upper === null) upper = userBefore ?? Date.now() / 1000 + 3600; // an hour of clock skew
      let fresh = [];
      for (let requests = 0; fresh.length < PAGE_SIZE && !done && requests < MAX_REQUESTS; requests++) {
        const lower = Math.max(userAfter ?? -Infinity, upper - WINDOW_S);
        const rows = await get(`api/events${query({ ...params, before: upper, after: lower })}`);
        if (mine !== generation) return;
        const unseen = rows.filter((row) => !seen.has(row.id));
        unseen.forEach((row) => seen.add(row.id));
        fresh = fresh.concat(unseen);
        if (rows.length === PAGE_SIZE) {
          const last = rows[rows.length - 1].start_time;
          // just above the last start re-reads its ties; a whole page of one start time steps past it
          upper = unseen.length ? last + TIE_EPSILON_S : last;
          if (unseen.length) break; // a page is a page, even when its first row was a re-read tie
          continue;
        }
        if (userAfter !== null && lower <= userAfter) {
          done = true;
          break;
        }
        const older = await get(`api/events${query({ ...indexed, include_thumbnails: 0, limit: 1, before: lower + TIE_EPSILON_S })}`);
        if (mine !== generation) return;
        if (older.length) upper = older[0].start_time + TIE_EPSILON_S;
        else done = true;
      }
      list.append(...fresh.map((row) => eventCard(row, () => openDetail(detail, row))));
      status.textContent = seen.size
        ? `${seen.size} event(s) shown${done ? ", no more" : ""}`
        : done ? "No event matches." : `Nothing yet back to ${dateTime(upper)}; "Load more" searches older events.`;
    } catch (err) {
      if (mine === generation) clear(status, errorLine(err, "Cannot list the events"));
    } finally {
      if (mine === generation) {
        loading = false;
        more.hidden = done;
      }
    }
  }

  // more rows when the "Load more" button scrolls into view
  const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadPage());
  observer.observe(more);
  return () => observer.disconnect();
}

function eventCard(row, open) {
  const running = row.end_time === null;
  const thumb = row.thumbnail
    ? `data:image/jpeg;base64,${row.thumbnail}`
    : `api/events/${encodeURIComponent(row.id)}/thumbnail.jpg`;
  return h(
    "button",
    { type: "button", class: `event${running ? " running" : ""}`, onclick: open, dataset: { id: row.id, clip: row.has_clip ? 1 : 0 } },
    h("img", { src: thumb, alt: row.label, loading: "lazy", width: 96, height: 96 }),
    h(
      "div",
      {},
      h("strong", {}, `${row.label} `, h("span", { class: "muted" }, `${Math.round(row.top_score * 100)}%`)),
      h("div", {}, h("span", { class: "muted" }, "camera "), row.camera, row.zones.length ? ` · zones ${row.zones.join(", ")}` : ""),
      h("div", { class: "muted" }, dateTime(row.start_time)),
      h(
        "div",
        {},
        running ? h("span", { class: "badge live" }, "in progress") : h("span", { class: "muted" }, duration(row.end_time - row.start_time)),
        row.has_clip ? h("span", { class: "badge" }, (row.clip_gaps || []).length ? "clip with gaps" : "clip") : null,
        row.has_snapshot ? h("span", { class: "badge" }, "snapshot") : null,
      ),
    ),
  );
}

function openDetail(dialog, row) {
  const id = encodeURIComponent(row.id);
  const base = `clips/${encodeURIComponent(row.camera)}-${id}`;
  const snapshot = row.has_snapshot || row.end_time === null ? `api/events/${id}/snapshot.jpg?bbox=1` : null;
  const media = [];
  if (row.has_clip && row.end_time !== null) {
    const video = h("video", { src: `${base}.mp4`, controls: true, preload: "metadata", playsInline: true, muted: true });
    video.addEventListener("error", () => video.replaceWith(h("p", { class: "error" }, "The clip cannot be played (deleted by retention?).")));
    media.push(video);
  } else if (row.end_time === null) {
    media.push(h("p", { class: "muted" }, "The event is in progress: its clip is written once it ends."));
  } else {
    media.push(h("p", { class: "muted" }, "This event has no clip."));
  }
  if (snapshot) {
    const img = h("img", { src: snapshot, alt: `${row.label} snapshot` });
    img.addEventListener("error", () => img.replaceWith(h("p", { class: "error" }, "No snapshot for this event.")));
    media.push(h("a", { href: snapshot, target: "_blank" }, img));
  }
  const gaps = row.has_clip ? row.clip_gaps || [] : [];
  const missing = gaps.map(([from, to]) => `${duration(to - from)} from ${clock(from)}`).join(", ");
  const gapNote = gaps.length
    ? h("p", { class: "warning clip-gaps" }, `This clip lacks footage: ${missing} (the camera or its recording was down).`)
    : null;
  clear(
    dialog,
    h("h2", {}, `${row.label} on ${row.camera}`, row.end_time === null ? h("span", { class: "badge live" }, "in progress") : ""),
    h("p", { class: "muted" }, `${dateTime(row.start_time)} · ${row.end_time === null ? "running" : duration(row.end_time - row.start_time)} · score ${Math.round(row.top_score * 100)}%${row.zones.length ? ` · zones ${row.zones.join(", ")}` : ""}`),
    gapNote,
    h("div", { class: "media" }, media),
    h("form", { method: "dialog" }, h("button", {}, "Close")),
  );
  dialog.addEventListener("close", () => dialog.querySelectorAll("video").forEach((v) => v.pause()), { once: true });
  dialog.showModal();
}
