/*
 * ots-links.js: docs/FORMAT.md's link grammar for pages that take a link as text (a pasted
 * link), apart from ots-format.js so that the reveal page, which reads its id and key from the
 * address the browser parsed, does not load it. Adds `parseLink` to `OtsFormat`'s sibling
 * `OtsLinks`; errors are OtsFormatError of kind BadLink. No message contains the input.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const ID_BYTES = 16;
  const KEY_BYTES = 32;
  const fail = (kind, message) => {
    throw new F.OtsFormatError(kind, message);
  };
  const b64urlDecode = F.b64urlDecode;

  // Unicode White_Space, exactly (String.prototype.trim's set differs: it has U+FEFF, lacks U+0085).
  const WHITE_SPACE = "\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const EDGE_SPACE = new RegExp(`^[${WHITE_SPACE}]+|[${WHITE_SPACE}]+$`, "gu");
  const ANY_SPACE = new RegExp(`[${WHITE_SPACE}]`, "u");
  const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;

  function decodePart(text, length, what) {
    if (!text) fail("BadLink", what === "key" ? "the link has no key" : `the link has no ${what}`);
    if (text.includes("=")) fail("BadLink", `the ${what} in the link has padding characters`);
    if (text.includes("%")) fail("BadLink", `the ${what} in the link is percent-encoded`);
    const expected = Math.ceil((length * 8) / 6);
    if (text.length !== expected) {
      fail("BadLink", `the ${what} in the link has ${text.length} characters, expected ${expected}`);
    }
    try {
      return b64urlDecode(text, length);
    } catch (error) {
      fail("BadLink", `the ${what} in the link is not canonical base64url`);
    }
  }

  function isIPv6(host) {
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(":")) return false;
    try {
      new URL(`http://[${host}]/`);
      return true;
    } catch (error) {
      return false;
    }
  }

  function isLoopback(host) {
    if (host === "localhost") return true;
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
    if (v4) {
      const octets = v4.slice(1);
      return octets.every((o) => (o === "0" || !o.startsWith("0")) && Number(o) <= 255) &&
        octets[0] === "127";
    }
    return isIPv6(host) && new URL(`http://[${host}]/`).hostname === "[::1]";
  }

  function parseAuthority(authority) {
    if (authority.includes("@")) fail("BadLink", "the link has user information");
    let host;
    let port = "";
    if (authority.startsWith("[")) {
      const close = authority.indexOf("]");
      if (close < 0) fail("BadLink", "the link has an invalid host");
      host = authority.slice(1, close).toLowerCase();
      const rest = authority.slice(close + 1);
      if (!isIPv6(host)) fail("BadLink", "the link has an invalid host");
      if (rest && !rest.startsWith(":")) fail("BadLink", "the link has an invalid host");
      if (rest) {
        port = rest.slice(1);
        if (!port) fail("BadLink", "the link has an invalid port");
      }
    } else {
      const colon = authority.indexOf(":");
      host = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
      if (colon >= 0) {
        port = authority.slice(colon + 1);
        if (!port) fail("BadLink", "the link has an invalid port");
      }
      if (!host || !host.split(".").every((label) => HOST_LABEL.test(label))) {
        fail("BadLink", "the link has an invalid host");
      }
    }
    if (port && !(/^[0-9]+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
      fail("BadLink", "the link has an invalid port");
    }
    return { host, port };
  }

  /** Parse a full link or a bare id#key: {server (or null), id, key}. */
  function parseLink(input, { allowInsecureHttp = false } = {}) {
    const text = String(input).replace(EDGE_SPACE, "");
    if (!text) fail("BadLink", "the link is empty");
    if (text.startsWith("otsr_")) fail("BadLink", "this is a receipt, not a link");
    if (ANY_SPACE.test(text)) fail("BadLink", "the link contains whitespace");
    const schemeEnd = text.indexOf("://");
    let server = null;
    let idAndKey = text;
    if (schemeEnd < 0) {
      if (text.includes("/") || text.includes(":")) fail("BadLink", "the link has no scheme");
    } else {
      const scheme = text.slice(0, schemeEnd).toLowerCase();
      if (scheme !== "https" && scheme !== "http") fail("BadLink", "unsupported link scheme");
      const rest = text.slice(schemeEnd + 3);
      const hash = rest.indexOf("#");
      const beforeFragment = hash < 0 ? rest : rest.slice(0, hash);
      if (beforeFragment.includes("?")) fail("BadLink", "the link has a query string");
      const slash = beforeFragment.indexOf("/");
      const authority = slash < 0 ? beforeFragment : beforeFragment.slice(0, slash);
      const path = slash < 0 ? "" : beforeFragment.slice(slash);
      const { host, port } = parseAuthority(authority);
      if (scheme === "http" && !allowInsecureHttp && !isLoopback(host)) {
        fail("BadLink", "http links are accepted only for loopback hosts");
      }
      const marker = path.lastIndexOf("/s/");
      const idText = marker < 0 ? "" : path.slice(marker + 3);
      const prefix = marker < 0 ? "" : path.slice(0, marker);
      const prefixOk = prefix.split("/").slice(1).every((s) => PATH_SEGMENT.test(s));
      if (marker < 0 || idText.includes("/") || !prefixOk) {
        fail("BadLink", "the link does not point to a secret");
      }
      const netloc = host.includes(":") ? `[${host}]` : host;
      server = `${scheme}://${netloc}${port ? ":" + port : ""}${prefix}`;
      idAndKey = idText + (hash < 0 ? "" : rest.slice(hash));
    }
    const hash = idAndKey.indexOf("#");
    if (hash < 0 || hash === idAndKey.length - 1) fail("BadLink", "the link has no key");
    const keyText = idAndKey.slice(hash + 1);
    if (keyText.includes("#")) fail("BadLink", "the link has more than one '#'");
    return {
      server,
      id: decodePart(idAndKey.slice(0, hash), ID_BYTES, "secret id"),
      key: decodePart(keyText, KEY_BYTES, "key"),
    };
  }


  root.OtsLinks = Object.freeze({ parseLink });
})(globalThis);
