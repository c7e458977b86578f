/*
 * reveal.js: the reveal page's UI. It reads the key from the URL's fragment, peeks, and
 * reveals only when the person clicks; decryption is ots-format.js's (no crypto here).
 *
 * A secret above the text cap is revealed, decrypted and saved by download-sw.js where it runs.
 *
 * Invariants:
 * - The key, and everything derived from it, stays in this page and its workers: requests
 *   carry only the id (in the path) and the proofs (in JSON bodies, as the API requires). No
 *   cookie, no storage API, no request to another origin.
 * - Loading the page never consumes: only a click on the reveal button (a submit of its form)
 *   sends a reveal (one, from here or from the worker).
 * - A file is announced complete only after the final tag verified (Opener.finish); on any
 *   error the destination is aborted, never left looking complete.
 * - Text from the secret reaches the DOM only through textContent / value, never as HTML.
 */
"use strict";

(function () {
  const F = globalThis.OtsFormat;
  const page = JSON.parse(document.getElementById("ots-page").textContent);
  const M = page.messages;
  const $ = (id) => document.getElementById(id);

  const format = (template, values = {}) =>
    template.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));

  // --- presentation helpers --------------------------------------------------------------

  const numberFormat = new Intl.NumberFormat(page.lang, { maximumFractionDigits: 1 });

  function describeBytes(size) {
    if (size < 1024) return `${size} ${M.unit_bytes}`;
    let value = size;
    for (const unit of ["KiB", "MiB", "GiB", "TiB"]) {
      value /= 1024;
      if (value < 1024 || unit === "TiB") return `${numberFormat.format(value)} ${unit}`;
    }
    return `${size}`;
  }

  function describeTime(seconds) {
    const date = new Date(seconds * 1000);
    const absolute = new Intl.DateTimeFormat(page.lang, {
      dateStyle: "medium",
      timeStyle: "short",
    }).format(date);
    const delta = Math.round(seconds - Date.now() / 1000);
    const relative = new Intl.RelativeTimeFormat(page.lang, { numeric: "auto" });
    const abs = Math.abs(delta);
    const [value, unit] =
      abs < 90 ? [delta, "second"] : abs < 5400 ? [Math.round(delta / 60), "minute"]
        : abs < 129600 ? [Math.round(delta / 3600), "hour"] : [Math.round(delta / 86400), "day"];
    return `${relative.format(value, unit)}, ${absolute}`;
  }

  const visible = F.visible;
  const safeName = F.safeName;

  // --- page state ------------------------------------------------------------------------

  const sections = ["details", "reveal-form", "text-result", "file-result", "error"];

  function show(...ids) {
    for (const id of sections) $(id).hidden = !ids.includes(id);
  }

  function status(text) {
    $("status").textContent = text;
  }

  function fail(messageKey, values = {}) {
    status("");
    $("error-text").textContent = format(M[messageKey], values);
    show(...($("details").dataset.known ? ["details"] : []), "error");
    $("error").dataset.reason = messageKey;
    $("error-heading").focus();
  }

  function goneMessage(body) {
    const at = typeof body.at === "number" ? describeTime(body.at) : M.now;
    const key = { consumed: "consumed", burned: "burned", expired: "expired" }[body.state];
    return key ? [key, { at }] : ["not_found", {}];
  }

  // --- the API (the same calls and bodies as the CLI) --------------------------------------

  class HttpError extends Error {
    constructor(status, body, retryAfter) {
      super(`HTTP ${status}`);
      Object.assign(this, { status, body: body || {}, retryAfter: Number(retryAfter) || 1 });
    }
  }

  const apiBase = new URL("../api/v1/secrets/", location.href);

  async function post(idText, action, body) {
    const response = await fetch(new URL(`${idText}/${action}`, apiBase), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
    if (!response.ok) {
      const parsed = await response.json().catch(() => ({}));
      throw new HttpError(response.status, parsed, response.headers.get("retry-after"));
    }
    return response;
  }

  function explainHttp(error, { revealing = false } = {}) {
    if (error instanceof HttpError) {
      if (error.status === 404) return fail("not_found");
      if (error.status === 410) return fail(...goneMessage(error.body));
      if (error.status === 429) return fail("rate_limited", { seconds: error.retryAfter });
      if (error.body.binding) return fail("bound", { who: error.body.binding });
      return fail("server_error", { status: error.status });
    }
    if (error instanceof F.OtsFormatError) {
      if (error.kind === "UnsupportedVersion") return fail("unsupported");
      if (error.kind === "WeakKdf") return fail("weak_kdf");
      return fail("integrity");
    }
    return fail(revealing ? "network_reveal" : "network");
  }

  // --- Argon2id in a dedicated Worker ----------------------------------------------------

  function stretch(passphrase, kdf) {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL(page.worker, location.href));
      const password = F.passphraseBytes(passphrase);
      worker.onmessage = ({ data }) => {
        worker.terminate();
        if (data.ok) resolve(new Uint8Array(data.ok));
        else reject(new Error("Argon2id failed"));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        reject(new Error("Argon2id failed"));
      };
      worker.postMessage(
        { password, salt: kdf.salt, opslimit: kdf.opslimit, memlimit: kdf.memlimit },
        [password.buffer]
      );
    });
  }

  // --- destinations for a file ------------------------------------------------------------

  /** The File System Access API: straight to disk, aborted on error (Chromium). */
  async function pickerSink(name) {
    const handle = await window.showSaveFilePicker({ suggestedName: name });
    const writable = await handle.createWritable();
    return {
      async write(pieces) {
        for (const piece of pieces) await writable.write(piece);
      },
      close: () => writable.close(),
      abort: () => writable.abort(),
    };
  }

  /**
   * For a secret above the text cap, the download worker (download-sw.js), which reveals,
   * decrypts and saves it so that the bytes never pass through this page; null where it cannot
   * run (Service Workers disabled): this page reads it.
   */
  async function downloadWorker() {
    if (state.peek.size <= page.textShownCap || !("serviceWorker" in navigator) ||
        !window.isSecureContext) return null;
    try {
      const script = new URL(page.downloadWorker, location.href);
      const registration = await navigator.serviceWorker.register(script, {
        scope: new URL("./", script).pathname,
      });
      return { script, worker: registration.active || (await activated(registration)) };
    } catch (error) {
      return null;
    }
  }

  function activated(registration) {
    return new Promise((resolve, reject) => {
      const worker = registration.installing || registration.waiting;
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") resolve(worker);
        if (worker.state === "redundant") reject(new Error("the download worker failed"));
      });
    });
  }

  /** The worker's messages but progress, one at a time (`await next()`); progress is shown. */
  function inbox(port, progress) {
    const queue = [];
    let wake = null;
    port.onmessage = ({ data }) => {
      if (data.progress) {
        progress.received = data.progress;
        if (!$("file-progress").hidden) report(progress);
        return;
      }
      queue.push(data);
      if (wake) wake();
    };
    return async function next() {
      while (!queue.length) await new Promise((resolve) => (wake = resolve));
      return queue.shift();
    };
  }

  /** The reveal through the download worker; false if it asks to be registered anew. */
  async function revealInWorker({ script, worker }, keys, body) {
    const token = F.b64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
    const channel = new MessageChannel();
    const progress = { started: performance.now(), received: 0, total: state.peek.size };
    const next = inbox(channel.port1, progress);
    // Keep the worker awake while it holds the reveal (an idle one is stopped after 30 s).
    const awake = setInterval(() => worker.postMessage({ keepalive: true }), 10_000);
    const leave = () => worker.postMessage({ forget: token });
    window.addEventListener("pagehide", leave);
    worker.postMessage({
      token,
      body: JSON.stringify(body),
      id: state.id,
      payloadKey: keys.payloadKey,
      maxSize: state.peek.size,
      textCap: page.textShownCap,
    }, [channel.port2]);
    let meta = null;
    try {
      let message = await next();
      if (message.retry) return false;
      if (message.http) {
        const { status, body: answer, retryAfter } = message.http;
        return rejected(new HttpError(status, answer, retryAfter));
      }
      if (message.failed) return fail("network_reveal");
      revealed();
      progress.total = message.total;
      const views = Number(message.views);
      message = await next();
      meta = message.meta;
      if (message.text) return showText(message.text, views);
      if (message.failed) throw message;
      // A navigation (an <a download> bypasses Service Workers) that the worker answers as an
      // attachment: the browser saves it and the page stays.
      const download = () => click(new URL(`download/${token}`, script).href);
      await chooseDestination(fileName(meta), meta.bodyLength, async (name) => {
        if (typeof window.showSaveFilePicker !== "function") return download();
        const handle = await window.showSaveFilePicker({ suggestedName: name });
        worker.postMessage({ save: token, handle });
      });
      $("file-progress").hidden = false;
      message = await next();
      if (message.unwritable) {
        download(); // a file chosen in the dialog that this worker may not write
        message = await next();
      }
      if (!message.done) throw message;
      saved(views);
    } catch (message) {
      const error = message.cancelled ? new DOMException("", "AbortError")
        : message.failed === "format" ? new F.OtsFormatError("DecryptionFailed", "") : message;
      return failReading(error, meta);
    } finally {
      clearInterval(awake);
      window.removeEventListener("pagehide", leave);
      leave(); // a reveal no download asked for (a dialog cancelled) is dropped; others ended
    }
  }

  /** Last resort: hold the file in memory up to a stated cap, then hand it over as a Blob. */
  function memorySink(name) {
    const parts = [];
    return {
      write: async (pieces) => parts.push(...pieces),
      close: async () => saveBlob(new Blob(parts, { type: "application/octet-stream" }), name),
      abort: async () => parts.splice(0),
    };
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    click(url, name);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  function click(href, download) {
    const link = Object.assign(document.createElement("a"), { href }, download && { download });
    document.body.append(link);
    link.click();
    link.remove();
  }

  async function openSink(name, size) {
    if (typeof window.showSaveFilePicker === "function") return pickerSink(name);
    if (size > page.memorySaveCap) {
      throw Object.assign(new Error("too large"), { tooLarge: true });
    }
    return memorySink(name);
  }

  // --- the flow ----------------------------------------------------------------------------

  const state = { idText: null, id: null, key: null, peek: null, header: null };

  async function start() {
    const fragment = location.hash.slice(1);
    const idText = decodeURIComponent(location.pathname.split("/").pop() || "");
    if (!fragment) return fail("no_key");
    try {
      // The browser parsed the address; the two parts must still be canonical and whole.
      const id = F.b64urlDecode(idText, 16);
      Object.assign(state, { idText, id, key: F.b64urlDecode(fragment, 32) });
    } catch (error) {
      return fail("bad_link");
    }
    status(M.checking);
    try {
      await globalThis.sodium.ready;
    } catch (error) {
      return fail("no_crypto");
    }
    try {
      const proof = F.linkProof(state.id, state.key).proof;
      const response = await post(idText, "peek", { proof: F.b64urlEncode(proof) });
      state.peek = await response.json();
      state.header = F.parseHeader(F.b64urlDecode(state.peek.header));
    } catch (error) {
      return explainHttp(error);
    }
    // A header for another id cannot open this link: refuse before anything is consumed.
    if (!F.equalBytes(state.header.id, state.id)) return fail("not_found");
    if (state.header.passphrase) {
      try {
        F.checkKdf(state.header.kdf);
      } catch (error) {
        return explainHttp(error);
      }
    }
    showDetails();
  }

  function showDetails() {
    const peek = state.peek;
    $("fact-size").textContent = describeBytes(peek.size);
    $("fact-expires").textContent = describeTime(peek.expires_at);
    $("fact-views").textContent = String(peek.views_left);
    $("fact-passphrase").textContent = peek.passphrase
      ? format(M.passphrase_needed, { attempts: peek.attempts_left })
      : M.passphrase_not_needed;
    $("details").dataset.known = "1";
    $("passphrase-field").hidden = !peek.passphrase;
    status("");
    show("details", "reveal-form");
    $("reveal-form").addEventListener("submit", onReveal);
  }

  let busy = false;

  async function onReveal(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    $("reveal-button").disabled = true;
    try {
      await reveal();
    } finally {
      busy = false;
      $("reveal-button").disabled = false;
    }
  }

  async function reveal() {
    const header = state.header;
    let stretched = null;
    $("passphrase-error").textContent = "";
    if (header.passphrase) {
      const passphrase = $("passphrase-input").value;
      if (!passphrase) {
        $("passphrase-error").textContent = M.passphrase_empty;
        $("passphrase-input").focus();
        return;
      }
      status(M.deriving);
      try {
        stretched = await stretch(passphrase, header.kdf);
      } catch (error) {
        return fail("no_crypto");
      }
    }
    const keys = F.deriveKeys(header, state.key, stretched);
    status(M.revealing);
    const body = {
      proof: F.b64urlEncode(keys.linkProof),
      passphrase_proof: keys.passphraseProof ? F.b64urlEncode(keys.passphraseProof) : null,
    };
    // A worker that was just leaving asks for a new one: nothing was sent, so try once more.
    for (let tries = 0, worker; tries < 2 && (worker = await downloadWorker()); tries++) {
      if ((await revealInWorker(worker, keys, body)) !== false) return;
    }
    let response;
    try {
      response = await post(state.idText, "reveal", body);
    } catch (error) {
      return rejected(error);
    }
    revealed();
    await receive(response, keys);
  }

  function rejected(error) {
    if (error.body?.error === "wrong_passphrase") return wrongPassphrase(error.body);
    return explainHttp(error, { revealing: true });
  }

  /** The view is spent: the key has no further use in the address bar or history. */
  function revealed() {
    history.replaceState(null, "", location.pathname + location.search);
  }

  function wrongPassphrase(body) {
    status("");
    if (body.burned) return fail("wrong_passphrase_burned");
    state.peek.attempts_left = body.attempts_left;
    $("fact-passphrase").textContent = format(M.passphrase_needed, { attempts: body.attempts_left });
    $("passphrase-error").textContent = format(M.wrong_passphrase, { attempts: body.attempts_left });
    $("passphrase-input").select();
    $("passphrase-input").focus();
  }

  const fileName = (meta) => safeName(meta.name, meta.kind === "text" ? "secret.txt" : "secret");

  /** Read the reveal's body through the Opener into memory (text) or a file destination. */
  async function receive(response, keys) {
    const opener = new F.Opener({ id: state.id, keys, maxSize: state.peek.size });
    const reader = response.body.getReader();
    const total = Number(response.headers.get("content-length")) || state.peek.size;
    const progress = { started: performance.now(), received: 0, total };
    const pending = [];
    // Read once; false at the end, after the final tag verified.
    const more = async () => {
      const { value, done } = await reader.read();
      pending.push(...(done ? opener.finish() : opener.push(value)));
      progress.received += done ? 0 : value.length;
      return !done;
    };
    let sink = null;
    try {
      // Until the envelope is known (the first authenticated chunk), hold what comes.
      while (opener.meta === null && (await more()));
      const meta = opener.meta;
      const views = Number(response.headers.get("ots-views-left"));
      if (meta.kind === "text" && meta.bodyLength <= page.textShownCap) {
        while (await more());
        return showText(F.concat(...pending), views);
      }
      // A file (or a large text): ask where to save it, holding the stream meanwhile.
      sink = await chooseDestination(fileName(meta), meta.bodyLength);
      $("file-progress").hidden = false;
      do {
        await sink.write(pending.splice(0));
        report(progress);
      } while (await more());
      await sink.write(pending.splice(0));
      await sink.close();
      saved(views);
    } catch (error) {
      reader.cancel().catch(() => {});
      if (sink) await sink.abort().catch(() => {});
      failReading(error, opener.meta);
    }
  }

  function saved(views) {
    $("file-progress").value = 100;
    $("file-status").textContent = M.saved + (views > 0 ? " " + format(M.views_after, { views }) : "");
  }

  /** A reveal whose body failed: a file already being saved is said to be discarded. */
  function failReading(error, meta) {
    $("file-progress").hidden = true;
    if (error && error.tooLarge) {
      return fail("too_large_for_browser", {
        size: describeBytes(meta.bodyLength),
        cap: describeBytes(page.memorySaveCap),
      });
    }
    if (error && error.name === "AbortError") return fail("save_cancelled");
    if (meta && meta.kind === "file") return fail("integrity_partial");
    return fail(error instanceof F.OtsFormatError ? "integrity" : "network_reveal");
  }

  function report(progress) {
    const seconds = Math.max((performance.now() - progress.started) / 1000, 0.001);
    const percent = Math.min(100, Math.floor((progress.received / progress.total) * 100));
    $("file-progress").value = percent;
    $("file-status").textContent = format(M.saving, {
      done: describeBytes(progress.received),
      total: describeBytes(progress.total),
      percent,
      rate: describeBytes(Math.round(progress.received / seconds)),
    });
  }

  /** Show the file's facts and wait for the click that lets a save dialog open. */
  function chooseDestination(name, size, open = openSink) {
    $("file-name").textContent = name === "secret" ? M.file_no_name : visible(name).text;
    $("file-size").textContent = describeBytes(size);
    status("");
    show("file-result");
    $("file-heading").focus();
    return new Promise((resolve, reject) => {
      $("save-file-button").addEventListener(
        "click",
        async () => {
          $("save-file-button").disabled = true;
          try {
            resolve(await open(name, size));
          } catch (error) {
            reject(error);
          }
        },
        { once: true }
      );
    });
  }

  function showText(bytes, views) {
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      // Not UTF-8: the exact bytes can only be saved, like a file.
      return chooseDestination("secret.txt", bytes.length).then(async (sink) => {
        await sink.write([bytes]);
        await sink.close();
        $("file-status").textContent = M.saved;
      });
    }
    const shown = visible(text);
    $("secret-text").value = shown.text;
    $("secret-text").rows = Math.min(20, Math.max(3, shown.text.split("\n").length + 1));
    if (shown.escaped) {
      $("escaped-note").textContent = format(M.escaped_note, { count: shown.escaped });
      $("escaped-note").hidden = false;
    }
    $("copy-button").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        $("copy-status").textContent = M.copied;
      } catch (error) {
        $("copy-status").textContent = M.copy_failed;
      }
    });
    $("save-text-button").addEventListener("click", () => {
      saveBlob(new Blob([bytes], { type: "text/plain;charset=utf-8" }), "secret.txt");
    });
    status(views > 0 ? format(M.views_after, { views }) : "");
    show("text-result");
    $("text-heading").focus();
  }

  // A link pasted into this tab that differs only after "#" does not reload the page.
  window.addEventListener("hashchange", () => location.reload());
  start();
})();
