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
  const SF = globalThis.OtsSecretForm;
  const { page, M, $, format, describeBytes, describeTime, describeDuration, copy } = globalThis.OtsUi;

  const TTL_CHOICES = [300, 3600, 86400, 7 * 86400, 30 * 86400];
  const VIEW_CHOICES = [1, 2, 3, 5, 10, 20, 50, 100];
  const ATTEMPT_CHOICES = [1, 2, 3, 5, 10, 20, 50, 100];
  // No look-alikes (0 O 1 l i o): a passphrase is read out or typed by the recipient.
  const PASSPHRASE = { groups: 5, group: 5, alphabet: "abcdefghjkmnpqrstuvwxyz23456789" };
  const apiBase = new URL("api/v1/", location.href).href;
  const sections = ["create-form", "progress-part", "result", "error"];

  const state = { limits: null, controller: null, link: null, receipt: null, planned: 0 };

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
    SF.setUp($("create-form"), limits);
    attemptsHint();
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

  let busy = false;

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    $("passphrase-error").textContent = "";
    const chosen = SF.read();
    if (!chosen) return;
    const passphrase = $("passphrase-toggle").checked ? $("new-passphrase").value : null;
    if (passphrase === "") {
      $("passphrase-error").textContent = M.no_passphrase;
      return $("new-passphrase").focus();
    }
    const planned = SF.planned(chosen, state.limits.max_bytes, { passphrase: passphrase !== null });
    if (planned === null) return;
    state.planned = planned;
    busy = true;
    try {
      await create(chosen, passphrase);
    } finally {
      busy = false;
    }
  }

  async function create(chosen, passphrase) {
    const controller = (state.controller = new AbortController());
    const progress = SF.progress();
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
        onStage: progress.onStage,
        onProgress: progress.onProgress,
      });
    } catch (error) {
      return createFailed(error);
    } finally {
      state.controller = null;
      if (chosen.source instanceof Uint8Array) chosen.source.fill(0); // the text's bytes
    }
    showResult(result, { passphrase: passphrase !== null, password: Boolean(chosen.password) });
  }

  function createFailed(error) {
    if (error && error.name === "AbortError") return backToForm(M.cancelled);
    const [key, values] = SF.uploadFailure(error, {
      planned: state.planned,
      maxBytes: state.limits.max_bytes,
      network: "create_network",
    });
    return fail(key, values);
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
    SF.clear();
    $("new-passphrase").value = "";
    $("passphrase-toggle").checked = false;
    $("passphrase-part").hidden = true;
    attemptsHint();
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
