// Live video at camera quality: /api/<camera>/live.mp4 (the camera's own H.264, copied into fragmented MP4
// by the daemon) played through Media Source Extensions.
//
// The response's Content-Type carries the codec the daemon read from the init segment's avcC
// (video/mp4; codecs="avc1.64001f"): MediaSource.isTypeSupported decides before anything is appended.
// H.265 cameras say hvc1/hev1: Chromium and Firefox mostly answer "not supported" (only some platform
// decoders play HEVC through MSE), and then the caller falls back to the JPEG stream.
//
// Fragments are appended in "sequence" mode, so a new init segment after the camera reconnected
// continues the time line. The player stays near the live edge: when it lags more than MAX_LAG s
// (a background tab, a slow decode) it jumps forward, and it keeps at most KEEP_S s of buffer.

const MAX_LAG = 1.5;
const KEEP_S = 20;

export class Unplayable extends Error {}

// Plays `url` in `video`; resolves once the stream is flowing, with a stop() function.
// Rejects with Unplayable (the browser cannot play it) or another Error (the daemon refused: 404, 503...).
export async function playLive(video, url) {
  if (!window.MediaSource) throw new Unplayable("this browser has no Media Source Extensions");
  const controller = new AbortController();
  const response = await fetch(url, { credentials: "same-origin", signal: controller.signal });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    controller.abort();
    throw new Error((body && body.detail) || `${response.status} ${response.statusText}`);
  }
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("codecs=") || !MediaSource.isTypeSupported(type)) {
    controller.abort();
    const codec = (type.match(/codecs="([^"]+)"/) || [, "unknown"])[1];
    throw new Unplayable(`this browser cannot play the camera's codec (${codec}) through Media Source Extensions`);
  }
  const source = new MediaSource();
  const objectUrl = URL.createObjectURL(source);
  video.src = objectUrl;
  await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
  const buffer = source.addSourceBuffer(type);
  buffer.mode = "sequence";
  const queue = [];
  let stopped = false;

  const pump = () => {
    if (stopped || buffer.updating || source.readyState !== "open") return;
    const ranges = buffer.buffered;
    if (ranges.length) {
      const end = ranges.end(ranges.length - 1);
      const start = ranges.start(0);
      if (end - video.currentTime > MAX_LAG) video.currentTime = end - 0.2; // back to the live edge
      if (end - start > KEEP_S * 1.5) {
        buffer.remove(start, end - KEEP_S);
        return; // updateend calls pump again
      }
    }
    if (queue.length) buffer.appendBuffer(queue.shift());
  };
  buffer.addEventListener("updateend", pump);

  const reader = response.body.getReader();
  (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stopped) break;
        queue.push(value);
        pump();
      }
    } catch {
      // aborted by stop(), or the connection dropped: the caller sees the video stall
    }
    if (!stopped) video.dispatchEvent(new Event("livestreamended"));
  })();
  video.muted = true;
  video.play().catch(() => {}); // autoplay of a muted video is allowed; a refusal leaves the controls to the user
  return () => {
    stopped = true;
    controller.abort();
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(objectUrl);
  };
}
