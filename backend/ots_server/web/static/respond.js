/*
 * respond.js: the responder's page of a request (GET /r/{id}). It reads the requester's public
 * key from the URL's fragment, checks the request (a peek, which changes nothing), and on a
 * click stores the secret as an ordinary one (ots-writer.js, ots-upload.js: one view, no
 * passphrase, the request's remaining lifetime), seals its id and key to the public key
 * (ots-request.js) and posts that as the request's one answer; then it forgets the key.
 *
 * Invariants:
 * - The public key, the secret's key and the payload key stay in this page: requests carry
 *   the request id and the secret id (in paths), the answer proof and the secret's link proof
 *   (in JSON bodies, as the API requires), the sealed box and the ciphertext. No cookie, no
 *   storage API, no request to another origin.
 * - Loading the page answers nothing: only a submit of the form (a click on "Send the
 *   secret") creates a secret and posts an answer.
 * - A secret stored for an answer the server refused (answered first, over, unknown, refused)
 *   is burned at once, as `ots respond` burns it; after a failed connection it is kept, since
 *   the answer may have been stored, and the same sealed answer can be sent again: a 409 then
 *   is no proof that someone else answered, so nothing is burned.
 * - The secret's key is zeroed once its id and key are sealed; the link proof kept for a burn
 *   is zeroed when the page reaches an end state.
 * - Text reaches the DOM through textContent / value only, never as HTML.
 */
"use strict";

(function () {
  const F = globalThis.OtsFormat;
  const U = globalThis.OtsUpload;
  const R = globalThis.OtsRequest;
  const SF = globalThis.OtsSecretForm;
  const { M, $, format, describeTime } = globalThis.OtsUi;

  const apiBase = new URL("../api/v1/", location.href).href;
  const sections = ["request-details", "respond-form", "progress-part", "result", "error"];
  const state = {
    link: null, // {idText, id, publicKey}
    proof: null, // the answer proof, base64url
    peek: null,
    limits: null,
    clockOffset: 0, // the server's clock minus this one's, in seconds (from the peek's Date)
    controller: null,
    pending: null, // an uploaded secret whose answer is not acknowledged: {id, linkProof, sealed, expiresAt, tries}
  };

  function show(...ids) {
    for (const id of sections) $(id).hidden = !ids.includes(id);
  }

  function status(text) {
    $("status").textContent = text;
  }

  /**
   * An end state: `reason` is the message key (also `data-reason`, for tests); `extra` adds
   * sentences ([key, values] pairs); `retry` offers to send the answer again, `back` the form.
   */
  function fail(reason, { heading = "respond_error_heading", values = {}, extra = [], retry = false, back = false } = {}) {
    status("");
    const sentences = [format(M[reason], values), ...extra.map(([key, more = {}]) => format(M[key], more))];
    $("error-heading").textContent = M[heading];
    $("error-text").textContent = sentences.join(" ");
    $("error").dataset.reason = reason;
    $("error-retry").hidden = !retry;
    $("error-back").hidden = !back;
    show("error");
    $("error-heading").focus();
  }

  const nothingSent = [["respond_nothing_sent"]];

  // --- the API -----------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(response, body) {
      super(`HTTP ${response.status}`);
      this.status = response.status;
      this.body = body || {};
      this.retryAfter = Number(response.headers.get("retry-after")) || 1;
    }
  }

  async function call(path, body = null) {
    const response = await fetch(new URL(path, apiBase), {
      method: body === null ? "GET" : "POST",
      headers: body === null ? {} : { "Content-Type": "application/json" },
      body: body === null ? null : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
    let parsed = {};
    try {
      parsed = await response.json();
    } catch (error) {
      parsed = {};
    }
    if (!response.ok) throw new HttpError(response, parsed);
    return { body: parsed, date: response.headers.get("date") };
  }

  const when = (seconds) => describeTime(Number(seconds) || 0);

  /** The 410 of a request that is over: [message key, values]. */
  function over(body) {
    return [body.state === "closed" ? "respond_closed" : "respond_expired", { at: when(body.at) }];
  }

  // --- start: read the link, peek ------------------------------------------------------------

  async function start() {
    status(M.respond_checking);
    try {
      await globalThis.sodium.ready;
    } catch (error) {
      return fail("create_no_crypto");
    }
    try {
      state.link = R.readLink(location.pathname, location.hash);
    } catch (error) {
      return fail(error.reason === "no_key" ? "respond_no_key" : "respond_damaged", { extra: nothingSent });
    }
    state.proof = F.b64urlEncode(R.answerProof(state.link.id, state.link.publicKey));
    let peeked;
    try {
      peeked = await call(`requests/${state.link.idText}/peek`, { proof: state.proof });
    } catch (error) {
      return peekFailed(error);
    }
    if (peeked.body.state === "answered") {
      return fail("respond_answered", { values: { at: when(peeked.body.answered_at) } });
    }
    if (peeked.body.id !== state.link.idText || peeked.body.state !== "open") {
      return fail("respond_server_error", { values: { status: 200 }, extra: nothingSent });
    }
    state.peek = peeked.body;
    const serverNow = Date.parse(peeked.date || "");
    // The answer's lifetime is counted on the server's clock, which judges expiry.
    state.clockOffset = Number.isNaN(serverNow) ? 0 : (serverNow - Date.now()) / 1000;
    try {
      state.limits = (await call("limits")).body;
    } catch (error) {
      return fail("create_limits_failed", { extra: nothingSent });
    }
    setUpForm();
    $("fact-asked").textContent = when(state.peek.created_at);
    $("fact-until").textContent = when(state.peek.expires_at);
    status("");
    show("request-details", "respond-form");
  }

  function peekFailed(error) {
    if (error instanceof HttpError) {
      if (error.status === 404) return fail("respond_damaged", { extra: nothingSent });
      if (error.status === 410) {
        const [key, values] = over(error.body);
        return fail(key, { values });
      }
      if (error.status === 429) return fail("rate_limited", { values: { seconds: error.retryAfter } });
      return fail("respond_server_error", { values: { status: error.status }, extra: nothingSent });
    }
    return fail("respond_network", { extra: nothingSent });
  }

  // --- the form ----------------------------------------------------------------------------

  function setUpForm() {
    SF.setUp($("respond-form"), state.limits);
    $("respond-form").addEventListener("submit", onSubmit);
    $("cancel-button").addEventListener("click", () => state.controller && state.controller.abort());
    $("error-back").addEventListener("click", () => backToForm(""));
    $("error-retry").addEventListener("click", () => {
      if (!state.pending) return;
      showSending();
      sendAnswer();
    });
  }

  function backToForm(message) {
    show("request-details", "respond-form");
    status(message);
    $("send-button").focus();
  }

  let busy = false;

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    const chosen = SF.read();
    if (!chosen) return;
    const planned = SF.planned(chosen, state.limits.max_bytes);
    if (planned === null) return;
    busy = true;
    try {
      await respond(chosen, planned);
    } finally {
      busy = false;
    }
  }

  // --- answering ---------------------------------------------------------------------------

  async function respond(chosen, planned) {
    const controller = (state.controller = new AbortController());
    const progress = SF.progress();
    status("");
    $("cancel-button").hidden = false;
    show("progress-part");
    $("progress-heading").focus();
    const now = Date.now() / 1000 + state.clockOffset;
    let stored;
    try {
      stored = await U.share(chosen.source, {
        meta: chosen.meta,
        passphrase: null,
        ttl: R.answerTtl(state.peek.expires_at, now, state.limits),
        views: 1,
        attempts: null,
        apiBase,
        signal: controller.signal,
        onStage: progress.onStage,
        onProgress: progress.onProgress,
      });
    } catch (error) {
      if (error && error.name === "AbortError") return backToForm(M.respond_cancelled);
      const [key, values] = SF.uploadFailure(error, {
        planned,
        maxBytes: state.limits.max_bytes,
        network: "respond_upload_network",
      });
      return fail(key, { heading: "respond_failed_heading", values, back: true });
    } finally {
      state.controller = null;
      if (chosen.source instanceof Uint8Array) chosen.source.fill(0); // the text's bytes
    }
    // The secret is on the server now: its answer reaches the request, or it is burned.
    const { id, key, created } = stored;
    state.pending = { id, linkProof: F.linkProof(id, key).proof, expiresAt: created.expires_at, tries: 0 };
    let sealed = null;
    try {
      sealed = R.sealAnswer(id, key, state.link.publicKey);
    } catch (error) {
      sealed = null; // the link was checked when the page loaded: not expected
    } finally {
      key.fill(0); // the secret's key: sealed to the requester, no further use here
    }
    if (sealed === null) return fail("respond_damaged", { extra: [await burn()] });
    state.pending.sealed = F.b64urlEncode(sealed);
    sealed.fill(0);
    SF.clear();
    showSending();
    await sendAnswer();
  }

  function showSending() {
    status("");
    $("cancel-button").hidden = true; // the secret is stored: what is left is one small request
    $("upload-progress").removeAttribute("value");
    $("progress-status").textContent = M.stage_answering;
    show("progress-part");
    $("progress-heading").focus();
  }

  async function sendAnswer() {
    const pending = state.pending;
    const retried = pending.tries > 0;
    pending.tries += 1;
    let posted;
    try {
      posted = await call(`requests/${state.link.idText}/answer`, { proof: state.proof, sealed: pending.sealed });
    } catch (error) {
      return answerFailed(error, retried);
    }
    forget();
    if (posted.body.id !== state.link.idText) {
      return fail("respond_server_error", { heading: "respond_unsure_heading", values: { status: 201 } });
    }
    $("result-text").textContent = format(M.respond_sent_text, { expires: when(pending.expiresAt) });
    status("");
    show("result");
    $("result-heading").focus();
  }

  async function answerFailed(error, retried) {
    if (!(error instanceof HttpError) || error.status >= 500 || error.status === 429) {
      // Nothing says whether the answer was stored (a 503 or 429 says it was not): keep it.
      if (error instanceof HttpError && (error.status === 503 || error.status === 429)) {
        return fail("respond_answer_busy", {
          heading: "respond_unsure_heading", values: { seconds: error.retryAfter }, retry: true,
        });
      }
      return fail("respond_answer_network", { heading: "respond_unsure_heading", retry: true });
    }
    if (error.status === 409 && retried) {
      // Maybe our own first try, whose acknowledgement was lost: the secret must stay.
      forget();
      return fail("respond_answer_uncertain", {
        heading: "respond_unsure_heading", values: { at: when(error.body.at) },
      });
    }
    const note = await burn();
    if (error.status === 409) {
      return fail("respond_answered_first", { values: { at: when(error.body.at) }, extra: [note] });
    }
    if (error.status === 410) {
      const [key, values] = over(error.body);
      return fail(key, { values, extra: [note] });
    }
    if (error.status === 404) return fail("respond_damaged", { extra: [note] });
    return fail("respond_answer_refused", {
      heading: "respond_failed_heading", values: { status: error.status }, extra: [note],
    });
  }

  /** Burn the secret no answer points to (`ots respond` does the same); the note to show. */
  async function burn() {
    const pending = state.pending;
    let burned = false;
    try {
      await call(`secrets/${F.b64urlEncode(pending.id)}/burn`, { proof: F.b64urlEncode(pending.linkProof) });
      burned = true;
    } catch (error) {
      // 404 or 410: the secret is gone already, which is what a burn is for.
      burned = error instanceof HttpError && (error.status === 404 || error.status === 410);
    }
    forget();
    return burned ? ["respond_burned"] : ["respond_not_burned", { at: when(pending.expiresAt) }];
  }

  /** The end of the uploaded secret's life in this page. */
  function forget() {
    if (!state.pending) return;
    state.pending.linkProof.fill(0);
    state.pending.id.fill(0);
    state.pending = null;
  }

  // The page's state belongs to the link it was loaded with.
  window.addEventListener("hashchange", () => location.reload());
  start();
})();
