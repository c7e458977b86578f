/*
 * ots-secret-form.js: what the pages that store a secret share (the create page, and the
 * responder's page of a request): the "what to send" part of the form (a text, a file chosen
 * or dropped, or a new random password), the upload's progress bar, and what an upload
 * failure means for a person. Both pages' templates include the same markup
 * (templates/parts/), so the element ids are the same.
 *
 * Invariants:
 * - The secret is read from the form only when `read()` is called (on submit), and the form
 *   is emptied by `clear()`; this module keeps a chosen File, never its bytes.
 * - A generated password is drawn with OtsWriter.randomString (the browser's CSPRNG, no modulo
 *   bias) and is never shown.
 * - Text reaches the DOM through textContent / value only. No network, no storage.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const W = root.OtsWriter;
  const U = root.OtsUpload;
  const { M, $, format, describeBytes } = root.OtsUi;

  const PASSWORD = { length: 24, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" };

  const state = { file: null, form: null };

  const what = () => document.querySelector('input[name="what"]:checked').value;

  function showPart() {
    $("text-part").hidden = what() !== "text";
    $("file-part").hidden = what() !== "file";
    $("password-part").hidden = what() !== "password";
    $("secret-error").textContent = "";
  }

  function chooseFile(file, message) {
    state.file = file || null;
    $("file-chosen").textContent = file ? format(message, { name: file.name, size: describeBytes(file.size) }) : "";
    $("secret-error").textContent = "";
  }

  function setUpDrop() {
    const zone = $("drop-zone");
    // A file dropped anywhere must not make the browser navigate away to it.
    for (const type of ["dragover", "drop"]) document.addEventListener(type, (event) => event.preventDefault());
    zone.addEventListener("dragover", () => zone.classList.add("dragging"));
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    document.addEventListener("drop", (event) => {
      zone.classList.remove("dragging");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (!file || state.form.hidden) return;
      document.querySelector('input[name="what"][value="file"]').checked = true;
      showPart();
      chooseFile(file, M.file_dropped);
    });
  }

  /** Wire the part of `form` (an element) that says what to send, within `limits`. */
  function setUp(form, limits) {
    state.form = form;
    $("file-hint").textContent = format(M.file_hint, { max: describeBytes(limits.max_bytes) });
    $("password-hint").textContent = format(M.password_hint, {
      length: PASSWORD.length,
      bits: W.entropyBits(PASSWORD.length, PASSWORD.alphabet),
    });
    for (const radio of document.querySelectorAll('input[name="what"]')) {
      radio.addEventListener("change", showPart);
    }
    $("file-input").addEventListener("change", () => chooseFile($("file-input").files[0], M.file_chosen));
    setUpDrop();
  }

  function fieldError(key, values = {}, focus = null) {
    $("secret-error").textContent = format(M[key], values);
    if (focus) focus.focus();
    return null;
  }

  /**
   * What the form asks to send: {source, meta, password, size}, or null once an error is shown
   * next to the field.
   */
  function read() {
    $("secret-error").textContent = "";
    const kind = what();
    let chosen;
    if (kind === "text") {
      const text = $("secret-input").value;
      if (!text) return fieldError("no_secret", {}, $("secret-input"));
      chosen = { source: new TextEncoder().encode(text), meta: { kind: "text" } };
    } else if (kind === "file") {
      const file = state.file;
      if (!file) return fieldError("no_file", {}, $("file-input"));
      const meta = { kind: "file", name: W.sendableName(file.name), mediaType: W.sendableMediaType(file.type) };
      chosen = { source: file, meta };
    } else {
      const password = W.randomString(PASSWORD.length, PASSWORD.alphabet);
      chosen = { source: new TextEncoder().encode(password), meta: { kind: "text" }, password: true };
    }
    chosen.size = chosen.source instanceof Uint8Array ? chosen.source.length : chosen.source.size;
    return chosen;
  }

  /** The encrypted size of `chosen`, or null after saying it is above `maxBytes`. */
  function planned(chosen, maxBytes, { passphrase = false } = {}) {
    const length = W.plan(chosen.meta, chosen.size, { passphrase }).length;
    if (length > maxBytes) {
      return fieldError("too_large", { size: describeBytes(length), max: describeBytes(maxBytes) });
    }
    return length;
  }

  /** Empty the form: the secret is no longer in the page. */
  function clear() {
    $("secret-input").value = "";
    $("file-input").value = "";
    chooseFile(null, "");
  }

  /** Callbacks for OtsUpload.share that drive #upload-progress and #progress-status. */
  function progress() {
    const current = { stage: null, started: 0 };
    $("upload-progress").value = 0;
    $("progress-status").textContent = "";
    return {
      onStage(stage) {
        current.stage = stage;
        current.started = performance.now();
        if (stage === "deriving") {
          $("upload-progress").removeAttribute("value"); // indeterminate: Argon2id tells no progress
          $("progress-status").textContent = M.stage_deriving;
        }
      },
      onProgress(done, total) {
        const percent = total ? Math.min(100, Math.floor((done / total) * 100)) : 0;
        $("upload-progress").value = percent;
        const seconds = Math.max((performance.now() - current.started) / 1000, 0.001);
        const key = current.stage === "uploading" ? "stage_uploading" : "stage_encrypting";
        $("progress-status").textContent = format(M[key], {
          done: describeBytes(done),
          total: describeBytes(total),
          percent,
          rate: describeBytes(Math.round(done / seconds)),
        });
      },
    };
  }

  /**
   * What a failed seal-and-upload means, as [message key, values] (an AbortError is the
   * caller's: a Cancel). `network`: the key for a failed connection, which each page words.
   */
  function uploadFailure(error, { planned: size, maxBytes, network }) {
    if (error instanceof F.OtsFormatError) return ["create_unreadable", {}];
    if (error instanceof U.UploadError) {
      const seconds = error.retryAfter || 1;
      if (error.status === 0) return [network, {}];
      if (error.status === 413) {
        const max = describeBytes((error.body && error.body.max_bytes) || maxBytes);
        return ["too_large", { size: describeBytes(size), max }];
      }
      if (error.status === 429) return ["rate_limited", { seconds }];
      if (error.status === 503) return ["create_busy", { seconds }];
      if (error.status === 507) return ["create_full", {}];
      return ["create_refused", { status: error.status }];
    }
    return [network, {}];
  }

  root.OtsSecretForm = Object.freeze({ PASSWORD, setUp, read, planned, clear, progress, uploadFailure });
})(globalThis);
