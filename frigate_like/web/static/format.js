// Formatting times, durations and sizes for people (local time, as the API's days and hours are).

const pad = (n) => String(n).padStart(2, "0");

export function clock(epoch) {
  const d = new Date(epoch * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(epoch) {
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(epoch)}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

export function megabytes(mb) {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}

export function bytes(n) {
  return n < 1024 * 1024 ? `${Math.round(n / 1024)} KB` : megabytes(n / (1024 * 1024));
}

// <input type="date"> value of a local day, and that day's [start, end) in epoch seconds.
export function dayInputValue(epoch) {
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function dayBounds(value) {
  const [y, m, d] = value.split("-").map(Number);
  return [new Date(y, m - 1, d).getTime() / 1000, new Date(y, m - 1, d + 1).getTime() / 1000];
}

// <input type="datetime-local"> value → epoch seconds (local time), or null when empty.
export function fromLocalInput(value) {
  return value ? new Date(value).getTime() / 1000 : null;
}
