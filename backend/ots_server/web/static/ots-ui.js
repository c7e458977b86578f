/*
 * ots-ui.js: what the create, receipt and respond pages share to talk to a person: the page's
 * data block (messages in its language), message formatting, sizes, times and durations in
 * that language, and copying to the clipboard with a confirmation. No network, no storage.
 * The language links keep the URL's fragment (a receipt token, a request's public key), which
 * a plain `?lang=` link would drop; the browser never sends a fragment.
 */
"use strict";

(function (root) {
  const page = JSON.parse(document.getElementById("ots-page").textContent);
  const M = page.messages;
  const $ = (id) => document.getElementById(id);

  /** A message with its {placeholders} filled; values reach the page as text only. */
  const format = (template, values = {}) =>
    template.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));

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

  /** "in 3 hours, 7 Dec 2026, 14:05": relative, then absolute in the page's language. */
  function describeTime(seconds) {
    const date = new Date(seconds * 1000);
    const absolute = new Intl.DateTimeFormat(page.lang, { dateStyle: "medium", timeStyle: "short" })
      .format(date);
    const delta = Math.round(seconds - Date.now() / 1000);
    const relative = new Intl.RelativeTimeFormat(page.lang, { numeric: "auto" });
    const abs = Math.abs(delta);
    const [value, unit] =
      abs < 90 ? [delta, "second"] : abs < 5400 ? [Math.round(delta / 60), "minute"]
        : abs < 129600 ? [Math.round(delta / 3600), "hour"] : [Math.round(delta / 86400), "day"];
    return `${relative.format(value, unit)}, ${absolute}`;
  }

  /** A duration in its largest whole unit: "1 hour", "7 jours", "90 seconds". */
  function describeDuration(seconds) {
    for (const [size, unit] of [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]]) {
      if (seconds % size === 0) {
        return new Intl.NumberFormat(page.lang, { style: "unit", unit, unitDisplay: "long" })
          .format(seconds / size);
      }
    }
    return String(seconds);
  }

  /** Copy `text`; say in `statusElement` what happened (the browser may refuse). */
  async function copy(text, statusElement, done) {
    statusElement.textContent = "";
    try {
      await navigator.clipboard.writeText(text);
      statusElement.textContent = done;
    } catch (error) {
      statusElement.textContent = M.copy_failed;
    }
  }

  for (const link of document.querySelectorAll("a[data-lang]")) {
    link.addEventListener("click", (event) => {
      if (!location.hash) return;
      event.preventDefault();
      location.assign(link.href.split("#")[0] + location.hash);
    });
  }

  root.OtsUi = Object.freeze({ page, M, $, format, describeBytes, describeTime, describeDuration, copy });
})(globalThis);
