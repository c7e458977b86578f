/*
 * download-sw.js: a streamed download for browsers without the File System Access API.
 *
 * The page posts {token, name, size} with a MessagePort; this worker then answers one request
 * for `download/<token>` (under its own scope, so it never reaches the server) with a stream
 * fed chunk by chunk through the port. It asks for each chunk (`pull`), so at most a chunk or
 * two is held here whatever the file's size. The page closes the stream only after the last
 * chunk verified; on an error it aborts, and the browser marks the download failed.
 * The token is 128 random bits made for this one download; no key ever reaches this worker.
 */
"use strict";

const pending = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const { token, name, size } = event.data || {};
  const port = event.ports[0];
  if (!port || typeof token !== "string" || !/^[A-Za-z0-9_-]{22}$/.test(token)) return;
  const stream = new ReadableStream(
    {
      start(controller) {
        port.onmessage = ({ data }) => {
          if (data.chunk) controller.enqueue(data.chunk);
          else if (data.done) controller.close();
          else if (data.abort) controller.error(new Error("the secret failed verification"));
        };
      },
      pull() {
        port.postMessage({ pull: true });
      },
      cancel() {
        port.postMessage({ cancelled: true });
      },
    },
    { highWaterMark: 1 }
  );
  pending.set(token, { stream, name: String(name), size: Number(size) });
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
