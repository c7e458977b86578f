/*
 * create.js: the create page's UI. It asks the server's published limits, offers only the
 * choices within them, seals the secret in the page (ots-writer.js) and uploads it
 * (ots-upload.js), then shows the link, a QR code of it and the receipt link.
 *
 * Invariants:
 * - The key, the passphrase and everything derived from them stay in this page: the link is
 *   built here and shown, never sent. Requests: the limits (GET) and the create (POST of the
 *   frame: meta and ciphertext). No cookie, no storage API, no request to another origin.
 * - Nothing is sent before the click on "Create link"; a Cancel stops the encryption or the
 *   upload, and the server keeps nothing of an upload it did not receive whole.
 * - After a success the form is emptied: the secret is no longer in the page, only its link.
 * - Text reaches the DOM through textContent / value only, never as HTML.
 */
"use strict";

(function () {
  const F = globalThis.OtsFormat;
  const W = globalThis.OtsWriter;
  const U = globalThis.OtsUpload;
  const { page, M, $, format, describeBytes, describeTime, describeDuration, copy } = globalThis.OtsUi;

  const TTL_CHOICES = [300, 3600, 86400, 7 * 86400, 30 * 86400];
  const VIEW_CHOICES = [1, 2, 3, 5, 10, 20, 50, 100];
  const ATTEMPT_CHOICES = [1, 2, 3, 5, 10, 20, 50, 100];
  const PASSWORD = { length: 24, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" };
  // No look-alikes (0 O 1 l i o): a passphrase is read out or typed by the recipient.
  const PASSPHRASE = { groups: 5, group: 5, alphabet: "abcdefghjkmnpqrstuvwxyz23456789" };
  const apiBase = new URL("api/v1/", location.href).href;
  const sections = ["create-form", "progress-part", "result", "error"];

  const state = { limits: null, file: null, controller: null, link: null, receipt: null, planned: 0 };

  function show(...ids) {
    for (const id of sections) $(id).hidden = !ids.includes(id);
  }

  function status(text) {
    $("status").textContent = text;
  }

  function fail(key, values = {}) {
    status("");
    $("error-text").textContent = format(M[key], values);
    $("error").dataset.reason = key;
    show("error");
    $("error-heading").focus();
  }

  const { randomString, entropyBits: bits } = W;

  function newPassphrase() {
    const groups = [];
    for (let i = 0; i < PASSPHRASE.groups; i++) groups.push(randomString(PASSPHRASE.group, PASSPHRASE.alphabet));
    return groups.join("-");
  }

  // --- the form --------------------------------------------------------------------------

  function fill(select, values, chosen, label) {
    select.replaceChildren(
      ...values.map((value) => {
        const option = new Option(label(value), String(value), false, value === chosen);
        return option;
      })
    );
  }

  function choices(candidates, low, high, always) {
    const values = new Set(candidates.filter((v) => v >= low && v <= high));
    for (const value of always) if (value >= low && value <= high) values.add(value);
    return [...values].sort((a, b) => a - b);
  }

  function setUpForm() {
    const limits = state.limits;
    const ttls = choices(TTL_CHOICES, limits.ttl_min, limits.ttl_max, [limits.ttl_default]);
    fill($("ttl-select"), ttls, limits.ttl_default, describeDuration);
    fill($("views-select"), choices(VIEW_CHOICES, 1, limits.max_views, [limits.max_views]), 1, String);
    const attempts = choices(ATTEMPT_CHOICES, 1, limits.max_attempts, [limits.default_attempts, limits.max_attempts]);
    fill($("attempts-select"), attempts, limits.default_attempts, String);
    $("file-hint").textContent = format(M.file_hint, { max: describeBytes(limits.max_bytes) });
    $("password-hint").textContent = format(M.password_hint, {
      length: PASSWORD.length,
      bits: bits(PASSWORD.length, PASSWORD.alphabet),
    });
    attemptsHint();
    for (const radio of document.querySelectorAll('input[name="what"]')) {
      radio.addEventListener("change", showPart);
    }
    $("attempts-select").addEventListener("change", attemptsHint);
    $("passphrase-toggle").addEventListener("change", () => {
      $("passphrase-part").hidden = !$("passphrase-toggle").checked;
      if ($("passphrase-toggle").checked) $("new-passphrase").focus();
    });
    $("generate-passphrase").addEventListener("click", () => {
      $("new-passphrase").value = newPassphrase();
      $("passphrase-error").textContent = "";
      $("new-passphrase-hint").textContent = format(M.generated_passphrase, {
        length: PASSPHRASE.groups * PASSPHRASE.group,
        bits: bits(PASSPHRASE.groups * PASSPHRASE.group, PASSPHRASE.alphabet),
      });
      $("new-passphrase").select();
    });
    $("file-input").addEventListener("change", () => chooseFile($("file-input").files[0], M.file_chosen));
    setUpDrop();
    $("create-form").addEventListener("submit", onSubmit);
    $("cancel-button").addEventListener("click", () => state.controller && state.controller.abort());
    $("copy-link").addEventListener("click", () => copy(state.link, $("copy-status"), M.link_copied));
    $("copy-receipt").addEventListener("click", () => copy(state.receipt, $("copy-status"), M.receipt_copied));
    $("share-another").addEventListener("click", () => backToForm(""));
    $("error-back").addEventListener("click", () => backToForm(""));
  }

  function attemptsHint() {
    $("new-passphrase-hint").textContent = format(M.new_passphrase_hint, { attempts: $("attempts-select").value });
  }

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
      if (!file || $("create-form").hidden) return;
      document.querySelector('input[name="what"][value="file"]').checked = true;
      showPart();
      chooseFile(file, M.file_dropped);
    });
  }

  function fieldError(key, values = {}, focus = null) {
    $("secret-error").textContent = format(M[key], values);
    if (focus) focus.focus();
  }

  // --- creating ----------------------------------------------------------------------------

  /** Argon2id in a dedicated Worker (argon2-worker.js); terminated on Cancel. */
  function workerArgon2(signal) {
    return (password, salt, opslimit, memlimit) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(new URL(page.worker, location.href));
        const stop = () => {
          worker.terminate();
          reject(new DOMException("cancelled", "AbortError"));
        };
        signal.addEventListener("abort", stop, { once: true });
        worker.onmessage = ({ data }) => {
          signal.removeEventListener("abort", stop);
          worker.terminate();
          if (data.ok) resolve(new Uint8Array(data.ok));
          else reject(new Error("Argon2id failed"));
        };
        worker.onerror = (event) => {
          event.preventDefault();
          worker.terminate();
          reject(new Error("Argon2id failed"));
        };
        worker.postMessage({ password, salt, opslimit, memlimit }, [password.buffer]);
      });
  }

  /** What the form asks to share: {source, meta, password} or null (an error was shown). */
  function input() {
    const kind = what();
    if (kind === "text") {
      const text = $("secret-input").value;
      if (!text) return fieldError("no_secret", {}, $("secret-input"));
      return { source: new TextEncoder().encode(text), meta: { kind: "text" } };
    }
    if (kind === "file") {
      const file = state.file;
      if (!file) return fieldError("no_file", {}, $("file-input"));
      const meta = { kind: "file", name: W.sendableName(file.name), mediaType: W.sendableMediaType(file.type) };
      return { source: file, meta };
    }
    const password = randomString(PASSWORD.length, PASSWORD.alphabet);
    return { source: new TextEncoder().encode(password), meta: { kind: "text" }, password: true };
  }

  let busy = false;

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    $("secret-error").textContent = "";
    $("passphrase-error").textContent = "";
    const chosen = input();
    if (!chosen) return;
    const passphrase = $("passphrase-toggle").checked ? $("new-passphrase").value : null;
    if (passphrase === "") {
      $("passphrase-error").textContent = M.no_passphrase;
      return $("new-passphrase").focus();
    }
    const size = chosen.source instanceof Uint8Array ? chosen.source.length : chosen.source.size;
    const plan = W.plan(chosen.meta, size, { passphrase: passphrase !== null });
    state.planned = plan.length;
    if (plan.length > state.limits.max_bytes) {
      return fieldError("too_large", { size: describeBytes(plan.length), max: describeBytes(state.limits.max_bytes) });
    }
    busy = true;
    try {
      await create(chosen, passphrase);
    } finally {
      busy = false;
    }
  }

  async function create(chosen, passphrase) {
    const controller = (state.controller = new AbortController());
    const progress = { stage: null, started: 0 };
    $("upload-progress").value = 0;
    $("progress-status").textContent = "";
    status("");
    show("progress-part");
    $("progress-heading").focus();
    let result;
    try {
      result = await U.share(chosen.source, {
        meta: chosen.meta,
        passphrase,
        argon2: workerArgon2(controller.signal),
        ttl: Number($("ttl-select").value),
        views: Number($("views-select").value),
        attempts: passphrase === null ? null : Number($("attempts-select").value),
        apiBase,
        signal: controller.signal,
        onStage: (stage) => stageChanged(progress, stage),
        onProgress: (done, total) => report(progress, done, total),
      });
    } catch (error) {
      return createFailed(error);
    } finally {
      state.controller = null;
      if (chosen.source instanceof Uint8Array) chosen.source.fill(0); // the text's bytes
    }
    showResult(result, { passphrase: passphrase !== null, password: Boolean(chosen.password) });
  }

  function stageChanged(progress, stage) {
    progress.stage = stage;
    progress.started = performance.now();
    if (stage === "deriving") {
      $("upload-progress").removeAttribute("value"); // indeterminate: Argon2id tells no progress
      $("progress-status").textContent = M.stage_deriving;
    }
  }

  function report(progress, done, total) {
    const percent = total ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    $("upload-progress").value = percent;
    const seconds = Math.max((performance.now() - progress.started) / 1000, 0.001);
    const key = progress.stage === "uploading" ? "stage_uploading" : "stage_encrypting";
    $("progress-status").textContent = format(M[key], {
      done: describeBytes(done),
      total: describeBytes(total),
      percent,
      rate: describeBytes(Math.round(done / seconds)),
    });
  }

  function createFailed(error) {
    if (error && error.name === "AbortError") return backToForm(M.cancelled);
    if (error instanceof F.OtsFormatError) return fail("create_unreadable");
    if (error instanceof U.UploadError) {
      const seconds = error.retryAfter || 1;
      if (error.status === 0) return fail("create_network");
      if (error.status === 413) {
        const max = describeBytes(error.body.max_bytes || state.limits.max_bytes);
        return fail("too_large", { size: describeBytes(state.planned), max });
      }
      if (error.status === 429) return fail("rate_limited", { seconds });
      if (error.status === 503) return fail("create_busy", { seconds });
      if (error.status === 507) return fail("create_full");
      return fail("create_refused", { status: error.status });
    }
    return fail("create_network");
  }

  function backToForm(message) {
    show("create-form");
    status(message);
    $("create-button").focus();
  }

  // --- the result ----------------------------------------------------------------------------

  function linkBase() {
    const published = state.limits.public_url;
    return (published || new URL(".", location.href).href).replace(/\/+$/, "");
  }

  function showResult({ id, key, created }, { passphrase, password }) {
    const base = linkBase();
    state.link = `${base}/s/${F.b64urlEncode(id)}#${F.b64urlEncode(key)}`;
    state.receipt = `${base}/receipt#${created.receipt}`;
    // The secret has no further use in this page: only its link stays.
    $("secret-input").value = "";
    $("new-passphrase").value = "";
    $("passphrase-toggle").checked = false;
    $("passphrase-part").hidden = true;
    attemptsHint();
    $("file-input").value = "";
    chooseFile(null, "");
    $("link-output").value = state.link;
    $("receipt-link").href = state.receipt;
    $("result-intro").textContent = M.result_intro + (password ? " " + M.result_password : "");
    $("result-expires").textContent = describeTime(created.expires_at);
    $("result-views").textContent = String(created.views);
    $("result-passphrase").textContent = passphrase ? M.with_passphrase : M.without_passphrase;
    $("copy-status").textContent = "";
    renderQr($("qr-code"), state.link);
    status("");
    show("result");
    $("result-heading").focus();
  }

  /** The link as a QR code: an SVG built node by node (no markup strings), dark on white. */
  function renderQr(container, text) {
    const qr = globalThis.qrcode(0, "M");
    qr.addData(text, "Byte");
    qr.make();
    const count = qr.getModuleCount();
    const quiet = 4;
    const size = count + 2 * quiet;
    let path = "";
    for (let row = 0; row < count; row++) {
      for (let col = 0; col < count; col++) {
        if (qr.isDark(row, col)) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
      }
    }
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("shape-rendering", "crispEdges");
    const background = document.createElementNS(ns, "rect");
    for (const [name, value] of [["width", size], ["height", size], ["fill", "#ffffff"]]) {
      background.setAttribute(name, String(value));
    }
    const modules = document.createElementNS(ns, "path");
    modules.setAttribute("d", path);
    modules.setAttribute("fill", "#000000");
    svg.append(background, modules);
    container.replaceChildren(svg);
  }

  // --- start ------------------------------------------------------------------------------

  async function start() {
    status(M.loading_limits);
    try {
      await globalThis.sodium.ready;
    } catch (error) {
      return fail("create_no_crypto");
    }
    try {
      const response = await fetch(new URL("limits", apiBase), {
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        redirect: "error",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      state.limits = await response.json();
    } catch (error) {
      return fail("create_limits_failed");
    }
    setUpForm();
    status("");
    show("create-form");
    $("error-back").hidden = false;
  }

  $("error-back").hidden = true; // until the form exists to go back to
  start();
})();
