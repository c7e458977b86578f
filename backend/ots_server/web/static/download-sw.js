/*
 * download-sw.js: a large secret's reveal, decrypted here and streamed to the browser's own
 * download, for browsers without the File System Access API.
 *
 * The page posts {token, id, body, payloadKey, maxSize, textCap} with a MessagePort. This
 * worker sends the one reveal request of the id (`body`: the proofs, exactly as the page would),
 * reads until the envelope is authenticated, and tells the page what it is. A text up to
 * `textCap` goes back to the page whole, after its final tag. A file waits for the browser's
 * request of `download/<token>` (under this worker's scope, so it never reaches the server),
 * which is answered with a stream whose every pull reads the network and decrypts
 * (OtsFormat.Opener): the bytes go from the network to the download without passing through
 * the page. Messages to the page: {revealed, total}, {meta}, {text}, {progress}, {done},
 * {failed: "format"|"network"}, {cancelled}, {http: {status, body, retryAfter}}.
 *
 * Invariants:
 * - One reveal request per token, sent only when the page asks; nothing is retried.
 * - The payload key and the plaintext exist only in this worker's memory and the page's; the
 *   key is never in a URL, a header or a request body. The request carries the proofs only.
 * - A download is complete only after the final tag and the padding verified: the last body
 *   bytes are held back until then (so the browser never has all `Content-Length` bytes of an
 *   unverified file), and a cut or tampered stream errors the download, which the browser marks
 *   failed.
 * - This worker loads only the versioned, immutable assets of its own folder; it unregisters
 *   itself once it holds no reveal, so nothing of the page stays in the browser.
 */
"use strict";

importScripts("libsodium-sumo.js", "libsodium-wrappers.js", "ots-format.js");

const F = self.OtsFormat;
const TOKEN = /^[A-Za-z0-9_-]{22}$/;
const reveals = new Map(); // token -> a revealed file waiting for, or being, downloaded
let leaving = false; // unregister() was called: a new reveal must go to a new worker

// A worker has no page to show a policy violation in: say it on the console (the browser tests
// fail on any console error, as they do on any violation in the page).
self.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP: ${event.violatedDirective} ${event.blockedURI}`);
});
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const port = event.ports[0];
  if (data.save) return event.waitUntil(save(data.save, data.handle));
  if (data.forget) {
    // The page is done with a reveal (or went away): one no download asked for is dropped.
    const job = reveals.get(data.forget);
    return job && !job.streaming && drop(data.forget);
  }
  // Anything else but a well-formed reveal (a keepalive) only keeps this worker awake.
  if (!port || !TOKEN.test(data.token) || reveals.has(data.token)) return;
  if (!(data.id instanceof Uint8Array) || data.id.length !== 16) return;
  if (leaving) return port.postMessage({ retry: true }); // nothing was sent
  event.waitUntil(reveal(data, port));
});

/**
 * One network read at a time into a reused 1 MiB buffer (BYOB) where the browser allows it,
 * filled whole where it also takes `min` (a few large reads: fewer, larger pieces after).
 */
function reader(body) {
  let byob;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch (error) {
    return body.getReader();
  }
  let buffer = new ArrayBuffer(1 << 20);
  let ended = false;
  return {
    async read() {
      if (ended) return { done: true };
      const { value, done } = await byob.read(new Uint8Array(buffer), { min: buffer.byteLength });
      if (value) buffer = value.buffer; // the same memory, handed back
      // A read that waited for `min` ends with the last bytes and `done` together.
      ended = done;
      return value && value.length ? { value, done: false } : { done: true };
    },
    cancel: () => byob.cancel(),
  };
}

async function reveal(data, port) {
  const job = { port, token: data.token, received: 0, reported: 0, pieces: [] };
  reveals.set(job.token, job);
  try {
    await self.sodium.ready;
  } catch (error) {
    return end(job, { retry: true }); // no WebAssembly here: the page reads instead
  }
  let response;
  try {
    // The API beside this worker's folder (/assets/<version>/), behind any path prefix: the
    // only request this worker makes, whoever posted the message.
    const url = new URL(`../../api/v1/secrets/${F.b64urlEncode(data.id)}/reveal`, self.location);
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: data.body,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
  } catch (error) {
    return end(job, { failed: "network" });
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const retryAfter = Number(response.headers.get("retry-after")) || 1;
    return end(job, { http: { status: response.status, body, retryAfter } });
  }
  const total = Number(response.headers.get("content-length")) || data.maxSize;
  port.postMessage({ revealed: true, total, views: response.headers.get("ots-views-left") });
  const keys = { payloadKey: data.payloadKey };
  job.opener = new F.Opener({ id: data.id, keys, maxSize: data.maxSize });
  job.reader = reader(response.body);
  try {
    // Until the envelope is known (the first authenticated chunk), hold what comes.
    while (job.opener.meta === null && (await more(job)));
    const meta = job.opener.meta;
    if (meta.kind === "text" && meta.bodyLength <= data.textCap) {
      while (await more(job));
      const text = F.concat(...job.pieces);
      return end(job, { meta, text }, [text.buffer]);
    }
    job.name = F.safeName(meta.name, meta.kind === "text" ? "secret.txt" : "secret");
    job.size = meta.bodyLength;
    port.postMessage({ meta });
  } catch (error) {
    return end(job, { failed: error instanceof F.OtsFormatError ? "format" : "network" });
  }
}

/**
 * Read once and decrypt: the body pieces go to job.pieces. False at the end of the stream,
 * after the final tag verified; throws if the stream is cut, tampered with or too long.
 */
async function more(job) {
  const { value, done } = await job.reader.read();
  if (done) {
    job.pieces.push(...job.opener.finish());
    job.finished = true;
    return false;
  }
  job.received += value.length;
  job.pieces.push(...job.opener.push(value));
  const now = Date.now();
  if (now - job.reported >= 100) {
    job.reported = now;
    job.port.postMessage({ progress: job.received });
  }
  return true;
}

/** The download: each pull reads and decrypts; the last body bytes wait for the final tag. */
function download(job) {
  return new ReadableStream(
    {
      async pull(controller) {
        try {
          // At least 1 MiB besides the newest piece: fewer, larger writes (a file chosen in a
          // dialog costs the browser per write).
          const ahead = () => job.pieces.slice(0, -1).reduce((n, piece) => n + piece.length, 0);
          while (!job.finished && (job.pieces.length < 2 || ahead() < 1 << 20)) await more(job);
        } catch (error) {
          job.failure = error instanceof F.OtsFormatError ? "format" : "network";
          controller.error(error);
          // A file chosen in a dialog: save() tells the page once the writable is aborted
          // (the file released and holding nothing), not before.
          return job.writable ? undefined : end(job, { failed: job.failure });
        }
        // Everything but the newest piece: it may be the last before a final tag not yet seen.
        const ready = job.pieces.splice(0, job.pieces.length - (job.finished ? 0 : 1));
        if (ready.length) controller.enqueue(ready.length === 1 ? ready[0] : F.concat(...ready));
        if (job.finished) {
          controller.close();
          if (!job.writable) end(job, { done: true });
        }
      },
      cancel() {
        end(job, { cancelled: true });
      },
    },
    // Decrypt a few MiB ahead of the disk at most, whatever the file's size.
    { highWaterMark: 1 << 20, size: (chunk) => chunk.byteLength }
  );
}

/** A file the page's save dialog chose: written by this worker, aborted (discarded) on error. */
async function save(token, handle) {
  const job = reveals.get(token);
  if (!job || job.size === undefined || job.streaming) return;
  job.streaming = true;
  try {
    job.writable = await handle.createWritable();
  } catch (error) {
    job.streaming = false;
    return job.port.postMessage({ unwritable: true }); // the page downloads it instead
  }
  // Done once the file is closed (moved into place), not merely once the stream ended; failed
  // once pipeTo has aborted the writable, so the page never reports ahead of the discard.
  await download(job).pipeTo(job.writable).then(
    () => end(job, { done: true }),
    () => end(job, { failed: job.failure || "network" })
  );
}

self.addEventListener("fetch", (event) => {
  const match = /\/download\/([A-Za-z0-9_-]{22})$/.exec(new URL(event.request.url).pathname);
  if (!match) return;
  const job = reveals.get(match[1]);
  // A download this worker does not hold (it was restarted): an empty answer keeps the page.
  if (!job || job.size === undefined || job.streaming) {
    return event.respondWith(new Response(null, { status: 204 }));
  }
  job.streaming = true;
  const ascii = job.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  event.respondWith(
    new Response(download(job), {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Disposition":
          `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(job.name)}`,
        "Content-Length": String(job.size),
        "Cache-Control": "no-store",
      },
    })
  );
});

/** Tell the page how it ended, free the reveal, and leave once no reveal is held. */
function end(job, message, transfer = []) {
  if (reveals.get(job.token) !== job) return;
  job.port.postMessage(message, transfer);
  drop(job.token);
}

function drop(token) {
  const job = reveals.get(token);
  if (!job) return;
  reveals.delete(token);
  if (job.reader && !job.finished) job.reader.cancel().catch(() => {});
  if (job.opener) job.opener.end(); // its libsodium buffers are wiped and freed
  job.pieces.length = 0;
  setTimeout(() => {
    if (reveals.size || leaving) return;
    leaving = true;
    self.registration.unregister().catch(() => {});
  }, 1000);
}
