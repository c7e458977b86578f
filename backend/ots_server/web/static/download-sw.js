/*
 * download-sw.js: a streamed download for browsers without the File System Access API.
 *
 * The page posts {token, name, size} with a MessagePort; this worker then answers one request
 * for `download/<token>` (under its own scope, so it never reaches the server) with a stream
 * fed chunk by chunk through the port, with a window of chunks in flight (`downloadStream`).
 * The page closes the stream only after the last chunk verified; on an error it aborts, and
 * the browser marks the download failed.
 * The token is 128 random bits made for this one download; no key ever reaches this worker.
 */
"use strict";

const pending = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/**
 * The stream of one download. The page may have WINDOW chunks in flight: each chunk the
 * download takes from here gives the page one more (`pull`), so the page decrypts ahead while
 * the browser writes, and at most WINDOW chunks (1 MiB) wait here whatever the file's size.
 */
function downloadStream(port) {
  const queue = [];
  let waiting = null; // a pull() waiting for the page's next chunk
  let end = null; // "done" or an Error
  let stream = null;
  const settle = () => {
    if (queue.length) {
      stream.enqueue(queue.shift());
      port.postMessage({ pull: true });
    } else if (end === "done") {
      stream.close();
    } else if (end) {
      stream.error(end);
    }
  };
  return new ReadableStream(
    {
      start(controller) {
        stream = controller;
        port.onmessage = ({ data }) => {
          if (data.chunks) queue.push(...data.chunks);
          if (data.done) end = "done";
          if (data.abort) {
            end = new Error("the secret failed verification");
            queue.length = 0;
          }
          if (waiting) {
            const resolve = waiting;
            waiting = null;
            settle();
            resolve();
          } else if (end && !queue.length) {
            // Close at once: a consumer that has all the bytes it was promised
            // (Content-Length) may not ask again, and the download would never complete.
            settle();
          }
        };
      },
      pull() {
        if (queue.length || end) return settle();
        return new Promise((resolve) => (waiting = resolve));
      },
      cancel() {
        port.postMessage({ cancelled: true });
      },
    },
    { highWaterMark: 0 }
  );
}

self.addEventListener("message", (event) => {
  const { token, name, size } = event.data || {};
  const port = event.ports[0];
  if (!port || typeof token !== "string" || !/^[A-Za-z0-9_-]{22}$/.test(token)) return;
  pending.set(token, { stream: downloadStream(port), name: String(name), size: Number(size) });
  port.postMessage({ ready: true });
});

self.addEventListener("fetch", (event) => {
  const match = /\/download\/([A-Za-z0-9_-]{22})$/.exec(new URL(event.request.url).pathname);
  if (!match || !pending.has(match[1])) return;
  const { stream, name, size } = pending.get(match[1]);
  pending.delete(match[1]);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  event.respondWith(
    new Response(stream, {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Disposition":
          `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
        "Content-Length": String(size),
        "Cache-Control": "no-store",
      },
    })
  );
});
