/*
 * ots-upload.js: the create call of docs/API.md (POST /api/v1/secrets) for the pages, and
 * `share`, which seals with ots-writer.js and uploads: the whole "share a secret" of the CLI,
 * minus the link, which the caller builds from the id and key it gets back.
 *
 * Chromium cannot stream a request body over HTTP/1.1 (a fetch with a ReadableStream body
 * needs HTTP/2), so the ciphertext is gathered into a Blob and sent with XMLHttpRequest, which
 * reports upload progress and can be aborted. The chunks are folded into Blobs of a few MiB as
 * they are made: the page holds at most one batch of ciphertext, the browser's blob storage
 * the rest (in memory, or in its temporary files for large blobs). Never the plaintext.
 *
 * Invariants:
 * - The request carries exactly what the CLI's does: the frame (u32 meta length, the meta JSON
 *   with the id, header length, verifiers, ttl, views, attempts) and the blob. No key, no
 *   proof, no cookie (same origin, no credentials exist), no Referer (the page's policy).
 * - Aborting (`signal`) stops the encryption or the upload; the server stores nothing unless
 *   it received the whole body, so a cancelled create leaves nothing behind.
 * - The answer is checked: a 201 for another id than the one sent is an error.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const W = root.OtsWriter;
  const MEDIA_TYPE = "application/vnd.ots.secret";
  /** Ciphertext gathered in the page before it is folded into the Blob: 64 chunks. */
  const BATCH_BYTES = 4 * 1024 * 1024;

  /** An answer other than 201, or a failed connection (`status` 0). */
  class UploadError extends Error {
    constructor(status, body = {}, retryAfter = null) {
      super(status ? `HTTP ${status}` : "the connection failed");
      this.name = "UploadError";
      this.status = status;
      this.body = body;
      this.retryAfter = retryAfter;
    }
  }

  const aborted = () => new DOMException("the upload was cancelled", "AbortError");

  /** The create meta, as the CLI sends it (fields it does not set are left out). */
  function createMeta(sealed, { ttl = null, views = null, attempts = null } = {}) {
    const meta = {
      id: F.b64urlEncode(sealed.id),
      header_length: sealed.headerBytes.length,
      link_verifier: F.b64urlEncode(sealed.linkVerifier),
    };
    if (ttl !== null) meta.ttl = ttl;
    if (views !== null) meta.views = views;
    if (sealed.passphraseVerifier) {
      meta.passphrase_verifier = F.b64urlEncode(sealed.passphraseVerifier);
      if (attempts !== null) meta.attempts = attempts;
    }
    return meta;
  }

  /** The frame's prefix: u32 big-endian length of the meta JSON, then the JSON. */
  function framePrefix(meta) {
    const json = new TextEncoder().encode(JSON.stringify(meta));
    const prefix = new Uint8Array(4 + json.length);
    new DataView(prefix.buffer).setUint32(0, json.length);
    prefix.set(json, 4);
    return prefix;
  }

  /** Encrypt `sealed` into one Blob of ciphertext; `onProgress(done, total)` as it goes. */
  async function toBlob(sealed, { onProgress = () => {}, signal = null } = {}) {
    const blobs = [];
    let batch = [];
    let batchBytes = 0;
    let done = 0;
    for await (const chunk of sealed.chunks()) {
      if (signal && signal.aborted) throw aborted();
      batch.push(chunk);
      batchBytes += chunk.length;
      done += chunk.length;
      if (batchBytes >= BATCH_BYTES) {
        blobs.push(new Blob(batch));
        batch = [];
        batchBytes = 0;
        onProgress(done, sealed.length);
        // Let the page paint its progress and take a click on Cancel.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    if (signal && signal.aborted) throw aborted();
    blobs.push(new Blob(batch));
    onProgress(done, sealed.length);
    if (done !== sealed.length) throw new Error("the writer produced the wrong number of bytes");
    return new Blob(blobs);
  }

  /** POST `body` to the create endpoint; resolves to the 201 answer's JSON. */
  function send(url, body, { onProgress = () => {}, signal = null } = {}) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(aborted());
      const xhr = new XMLHttpRequest();
      const stop = () => xhr.abort();
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", MEDIA_TYPE);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total || body.size);
      xhr.onload = () => {
        if (signal) signal.removeEventListener("abort", stop);
        let answer = {};
        try {
          answer = JSON.parse(xhr.responseText);
        } catch (error) {
          answer = {};
        }
        if (xhr.status === 201) return resolve(answer);
        const retry = Number(xhr.getResponseHeader("Retry-After")) || null;
        reject(new UploadError(xhr.status, answer, retry));
      };
      xhr.onerror = () => reject(new UploadError(0));
      xhr.ontimeout = () => reject(new UploadError(0));
      xhr.onabort = () => reject(aborted());
      if (signal) signal.addEventListener("abort", stop, { once: true });
      xhr.send(body);
    });
  }

  /**
   * Seal and upload one secret. `source`: a Uint8Array or a Blob; options: those of
   * OtsWriter.seal (meta, passphrase, argon2, …), `ttl`, `views`, `attempts` (null: the
   * server's defaults), `apiBase` (a URL ending in `/api/v1/`), `onStage(name)` ("deriving",
   * "encrypting", "uploading"), `onProgress(done, total)` and `signal`. Resolves to
   * {id, key, created}: the caller builds the link from id and key and forgets them.
   */
  async function share(source, options) {
    const { onStage = () => {}, onProgress = () => {}, signal = null } = options;
    if (options.passphrase) onStage("deriving");
    const sealed = await W.seal(source, options);
    if (signal && signal.aborted) throw aborted();
    onStage("encrypting");
    const blob = await toBlob(sealed, { onProgress, signal });
    const prefix = framePrefix(createMeta(sealed, options));
    onStage("uploading");
    const created = await send(new URL("secrets", options.apiBase), new Blob([prefix, blob]), {
      onProgress,
      signal,
    });
    if (created.id !== F.b64urlEncode(sealed.id)) {
      throw new UploadError(201, { error: "another_id" });
    }
    return { id: sealed.id, key: sealed.key, created };
  }

  root.OtsUpload = Object.freeze({ UploadError, createMeta, framePrefix, toBlob, send, share });
})(globalThis);
