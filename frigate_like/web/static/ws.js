// The tab's one WebSocket (docs/websocket.md): frames of every camera, the daemon's state and its logs.
// Pages declare what they want; the subscription sent is the union of every page's wants.

const PATH = "skellycam/websocket/connect";
const LEVELS = ["debug", "info", "warning", "error"];
const MAGIC = 0x31464c46; // "FLF1" read as a little-endian uint32
const decoder = new TextDecoder();

export function parseFrame(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 28 || view.getUint32(0, true) !== MAGIC) return null;
  const headerLength = view.getUint16(4, true);
  const idLength = view.getUint16(6, true);
  return {
    camera: decoder.decode(new Uint8Array(buffer, 28, idLength)),
    frameNumber: Number(view.getBigUint64(8, true)),
    captureTime: view.getFloat64(16, true),
    width: view.getUint16(24, true),
    height: view.getUint16(26, true),
    jpeg: new Blob([new Uint8Array(buffer, headerLength)], { type: "image/jpeg" }),
  };
}

class LiveSocket {
  constructor() {
    this.wants = new Map(); // key → {cameras: null | string[], maxFps, logLevel}
    this.listeners = { frame: new Set(), state: new Set(), log: new Set(), status: new Set() };
    this.state = null;
    this.status = "connecting";
    this.socket = null;
    this.retry = 0;
    this.connect();
  }

  connect() {
    const url = new URL(PATH, document.baseURI);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.retry = 0;
      this.setStatus("connected");
      this.sendSubscription();
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = (event) => {
      this.setStatus(event.code === 1008 ? "refused (token needed?)" : "reconnecting…");
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
    };
  }

  setStatus(status) {
    this.status = status;
    this.listeners.status.forEach((fn) => fn(status));
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      const frame = parseFrame(data);
      if (frame) this.listeners.frame.forEach((fn) => fn(frame));
      return;
    }
    const message = JSON.parse(data);
    if (message.type === "state") {
      this.state = message;
      this.listeners.state.forEach((fn) => fn(message));
    } else if (message.type === "log") {
      this.listeners.log.forEach((fn) => fn(message));
    } else if (message.type === "error") {
      console.warn("WebSocket:", message.detail);
    }
  }

  // Union of the wants: all cameras if any page wants all, the highest fps, the most verbose log level.
  subscription() {
    let cameras = [];
    let maxFps = 0;
    let level = null;
    for (const want of this.wants.values()) {
      if (want.cameras === null) cameras = null;
      else if (cameras !== null) cameras = [...new Set([...cameras, ...want.cameras])];
      if (want.maxFps) maxFps = Math.max(maxFps, want.maxFps);
      if (want.logLevel && (level === null || LEVELS.indexOf(want.logLevel) < LEVELS.indexOf(level))) {
        level = want.logLevel;
      }
    }
    return { type: "subscribe", cameras, max_fps: maxFps || null, log_level: level };
  }

  sendSubscription() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(this.subscription()));
    }
  }

  want(key, { cameras = [], maxFps = null, logLevel = null } = {}) {
    this.wants.set(key, { cameras, maxFps, logLevel });
    this.sendSubscription();
  }

  drop(key) {
    this.wants.delete(key);
    this.sendSubscription();
  }

  // The first state message (the daemon sends one on connect).
  firstState() {
    if (this.state) return Promise.resolve(this.state);
    return new Promise((resolve) => {
      const off = this.on("state", (state) => {
        off();
        resolve(state);
      });
    });
  }

  on(kind, fn) {
    this.listeners[kind].add(fn);
    if (kind === "state" && this.state) fn(this.state);
    if (kind === "status") fn(this.status);
    return () => this.listeners[kind].delete(fn);
  }
}

export const live = new LiveSocket();
