// Events: newest first with filters, paged by start time ("before" = the last row's start), never by
// offset, so every page costs one index range scan however deep the user scrolls.
import { config, get, query } from "./api.js";
import { clear, errorLine, h } from "./dom.js";
import { dateTime, duration, fromLocalInput } from "./format.js";

const PAGE_SIZE = 50;
// A cursor just above the last start time re-reads the rows sharing that exact time (objects found in
// the same frame); rows already shown are skipped by id.
const TIE_EPSILON_S = 1e-6;

export function mountEvents(root) {
  const form = h("form", { class: "filters", onsubmit: (e) => (e.preventDefault(), reset()) });
  const list = h("div", { class: "events" });
  const more = h("button", { type: "button", class: "more", onclick: () => loadPage() }, "Load more");
  const status = h("p", { class: "muted" });
  const detail = h("dialog", { class: "event-detail" });
  clear(root, h("div", { class: "toolbar" }, h("h1", {}, "Events")), form, list, status, more, detail);

  let cursor = null;
  let seen = new Set();
  let loading = false;
  let done = false;

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
    cursor = null;
    seen = new Set();
    done = false;
    list.replaceChildren();
    loadPage();
  }

  async function loadPage() {
    if (loading || done || !filters.before) return; // not before the filters exist
    loading = true;
    status.textContent = "Loading…";
    const userBefore = fromLocalInput(filters.before.value);
    const params = {
      include_in_progress: 1, // running events too (issue 10's listing hides them by default)
      include_thumbnails: 1,
      limit: PAGE_SIZE,
      camera: filters.camera.value,
      label: filters.label.value,
      zone: filters.zone.value,
      after: fromLocalInput(filters.after.value),
      has_clip: filters.has_clip.value,
      has_snapshot: filters.has_snapshot.value,
    };
    try {
      let rows = await get(`api/events${query({ ...params, before: cursor === null ? userBefore : cursor + TIE_EPSILON_S })}`);
      let fresh = rows.filter((row) => !seen.has(row.id));
      if (!fresh.length && rows.length === PAGE_SIZE) {
        // a whole page shares one start time: step past it
        rows = await get(`api/events${query({ ...params, before: cursor })}`);
        fresh = rows;
      }
      fresh.forEach((row) => seen.add(row.id));
      list.append(...fresh.map((row) => eventCard(row, () => openDetail(detail, row))));
      if (rows.length) cursor = rows[rows.length - 1].start_time;
      done = rows.length < PAGE_SIZE;
      status.textContent = seen.size ? `${seen.size} event(s) shown${done ? ", no more" : ""}` : "No event matches.";
    } catch (err) {
      clear(status, errorLine(err, "Cannot list the events"));
    } finally {
      loading = false;
      more.hidden = done;
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
        row.has_clip ? h("span", { class: "badge" }, "clip") : null,
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
  clear(
    dialog,
    h("h2", {}, `${row.label} on ${row.camera}`, row.end_time === null ? h("span", { class: "badge live" }, "in progress") : ""),
    h("p", { class: "muted" }, `${dateTime(row.start_time)} · ${row.end_time === null ? "running" : duration(row.end_time - row.start_time)} · score ${Math.round(row.top_score * 100)}%${row.zones.length ? ` · zones ${row.zones.join(", ")}` : ""}`),
    h("div", { class: "media" }, media),
    h("form", { method: "dialog" }, h("button", {}, "Close")),
  );
  dialog.addEventListener("close", () => dialog.querySelectorAll("video").forEach((v) => v.pause()), { once: true });
  dialog.showModal();
}
