/*
 * receipt.js: the receipt page. It reads the receipt token from the URL's fragment, asks
 * POST /api/v1/receipts/status (the token in the JSON body), and shows what happened to the
 * secret: not read yet, read at T, destroyed, expired. "Burn now" asks for a confirmation in
 * the page, then POST /api/v1/receipts/burn.
 *
 * Invariants:
 * - The token goes only into request bodies: never a URL, a header, or storage. No cookie.
 * - The page is the same bytes for every token; it shows what the server answered and nothing
 *   the token alone could tell (it cannot open the secret).
 * - Nothing is destroyed without the second, explicit click.
 */
"use strict";

(function () {
  const { M, $, format, describeTime } = globalThis.OtsUi;
  const TOKEN = /^otsr_[A-Za-z0-9_-]{43}$/;
  const apiBase = new URL("api/v1/receipts/", location.href);
  const state = { token: null };

  function status(text) {
    $("status").textContent = text;
  }

  function fail(key, values = {}) {
    status("");
    $("state-part").hidden = true;
    $("error-text").textContent = format(M[key], values);
    $("error").dataset.reason = key;
    $("error").hidden = false;
    $("error-heading").focus();
  }

  class HttpError extends Error {
    constructor(response) {
      super(`HTTP ${response.status}`);
      this.status = response.status;
      this.retryAfter = Number(response.headers.get("retry-after")) || 1;
    }
  }

  async function post(action) {
    const response = await fetch(new URL(action, apiBase), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ receipt: state.token }),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
    if (!response.ok) throw new HttpError(response);
    return response.json();
  }

  function explain(error) {
    if (!(error instanceof HttpError)) return fail("receipt_network");
    if (error.status === 404) return fail("receipt_unknown");
    if (error.status === 400) return fail("receipt_bad");
    if (error.status === 429) return fail("rate_limited", { seconds: error.retryAfter });
    return fail("server_error", { status: error.status });
  }

  /** The heading and sentence for a receipt's state (docs/API.md, Receipts). */
  function describe(receipt) {
    const when = (seconds) => (typeof seconds === "number" ? describeTime(seconds) : M.now);
    if (receipt.state === "read") {
      return [M.state_read, format(M.state_read_text, { at: when(receipt.read_at) })];
    }
    if (receipt.state === "burned") {
      return [M.state_burned, format(M.state_burned_text, { at: when(receipt.burned_at) })];
    }
    if (receipt.state === "expired") {
      return [M.state_expired, format(M.state_expired_text, { at: when(receipt.expires_at) })];
    }
    if (receipt.read_at !== null) {
      const read = receipt.views - receipt.views_left;
      return [
        format(M.state_partly_read, { read, views: receipt.views }),
        format(M.state_partly_read_text, { at: when(receipt.read_at), left: receipt.views_left }),
      ];
    }
    return [M.state_pending, M.state_pending_text];
  }

  function showState(receipt) {
    const [heading, text] = describe(receipt);
    $("state-heading").textContent = heading;
    $("state-text").textContent = text;
    $("state-part").dataset.state = receipt.state;
    $("fact-created").textContent = describeTime(receipt.created_at);
    $("fact-expires").textContent = describeTime(receipt.expires_at);
    $("fact-views").textContent = format(M.views_left_of, { left: receipt.views_left, views: receipt.views });
    $("burn-button").hidden = receipt.state !== "pending";
    $("burn-confirm").hidden = true;
    $("error").hidden = true;
    $("state-part").hidden = false;
  }

  async function check({ focus = true } = {}) {
    status(M.checking_receipt);
    try {
      showState(await post("status"));
    } catch (error) {
      return explain(error);
    }
    status("");
    if (focus) $("state-heading").focus();
  }

  async function burn() {
    $("burn-yes").disabled = true;
    try {
      showState(await post("burn"));
    } catch (error) {
      return explain(error);
    } finally {
      $("burn-yes").disabled = false;
    }
    status($("state-part").dataset.state === "burned" ? M.burned_now : "");
    $("state-heading").focus();
  }

  function start() {
    const token = location.hash.slice(1);
    if (!token) return fail("receipt_missing");
    if (!TOKEN.test(token)) return fail("receipt_bad");
    state.token = token;
    $("refresh-button").addEventListener("click", () => check());
    $("burn-button").addEventListener("click", () => {
      $("burn-confirm").hidden = false;
      $("burn-no").focus();
    });
    $("burn-no").addEventListener("click", () => {
      $("burn-confirm").hidden = true;
      $("burn-button").focus();
    });
    $("burn-yes").addEventListener("click", burn);
    check({ focus: false });
  }

  window.addEventListener("hashchange", () => location.reload());
  start();
})();
