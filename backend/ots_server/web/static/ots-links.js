/*
 * ots-links.js: docs/FORMAT.md's link grammar ("Link") for pages that take a link as text (a
 * pasted link), apart from ots-format.js so that the reveal page, which reads its id and key
 * from the address the browser parsed, does not load it. Defines `OtsLinks.parseLink`.
 *
 * Invariants:
 * - The same links are accepted and refused as by ots_cli/core/links.py, with the same messages
 *   (tests/web/test_links_in_browser.py runs the CLI's own case tables in Chromium): one shape,
 *   around which only Unicode White_Space (exactly that set), one pair of quotes and then one
 *   pair of angle brackets are taken off; a host is an ASCII name, a dotted-decimal IPv4
 *   address, or a bracketed IPv6 address without a zone id.
 * - Every error is an OtsFormatError of kind BadLink; no message contains any of the input.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const ID_BYTES = 16;
  const KEY_BYTES = 32;
  const fail = (message) => {
    throw new F.OtsFormatError("BadLink", message);
  };

  const CUT_OFF = "the link has no key; it was probably cut off by the app it was pasted in";
  // Unicode White_Space, exactly (String.prototype.trim's set differs: it has U+FEFF and lacks
  // U+0085).
  const WHITE_SPACE =
    "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" +
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
  const QUOTES = { '"': '"', "'": "'", "`": "`", "\u201c": "\u201d", "\u2018": "\u2019" };
  const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9A-Fa-f]*)$/;
  const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
  const PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;
  const BASE64URL = /^[A-Za-z0-9_-]*$/;

  function strip(text) {
    let start = 0;
    let end = text.length;
    while (start < end && WHITE_SPACE.includes(text[start])) start++;
    while (end > start && WHITE_SPACE.includes(text[end - 1])) end--;
    return text.slice(start, end);
  }

  /** White space around, then one pair of quotes, then one pair of <> (FORMAT.md, step 1). */
  function unwrap(text) {
    text = strip(text);
    const last = () => text[text.length - 1];
    if (text.length >= 2 && QUOTES[text[0]] === last()) text = strip(text.slice(1, -1));
    if (text.length >= 2 && text[0] === "<" && last() === ">") text = strip(text.slice(1, -1));
    return text;
  }

  /** Exactly four decimal numbers 0-255 without leading zeros. */
  function dottedIPv4(host) {
    const parts = host.split(".");
    return parts.length === 4 && parts.every((p) => DECIMAL_OCTET.test(p) && Number(p) <= 255);
  }

  /** An ASCII name of labels, at most 253 characters; numeric last label: dotted IPv4 only. */
  function hostName(host) {
    if (!/^[\x00-\x7f]*$/.test(host) || host.length < 1 || host.length > 253) return false;
    const labels = host.split(".");
    if (!labels.every((label) => HOST_LABEL.test(label))) return false;
    return !NUMERIC_LABEL.test(labels[labels.length - 1]) || dottedIPv4(host);
  }

  /**
   * An IPv6 address in RFC 4291's text form (with an embedded dotted IPv4 too), as its eight
   * 16-bit groups, or null: the rules of Python's ipaddress, which the CLI uses.
   */
  function ipv6(host) {
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) return null; // ASCII; no zone id ("%"), nothing else
    const parts = host.split(":");
    if (parts.length < 3) return null;
    const tail = parts[parts.length - 1];
    if (tail.includes(".")) {
      if (!dottedIPv4(tail)) return null;
      const [a, b, c, d] = tail.split(".").map(Number);
      parts.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    if (parts.length > 9) return null;
    const inner = parts.slice(1, -1).map((p, i) => (p ? -1 : i + 1)).filter((i) => i > 0);
    if (inner.length > 1) return null;
    let high = parts.length;
    let low = 0;
    if (inner.length) {
      const skip = inner[0];
      high = skip;
      low = parts.length - skip - 1;
      if (!parts[0] && --high) return null; // a leading ":" only as part of "::"
      if (!parts[parts.length - 1] && --low) return null;
      if (8 - (high + low) < 1) return null;
    } else if (parts.length !== 8 || !parts[0] || !parts[parts.length - 1]) {
      return null;
    }
    const groups = [...parts.slice(0, high), ...Array(8 - high - low).fill("0"),
      ...parts.slice(parts.length - low)];
    if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  }

  function loopback(host) {
    if (host === "localhost") return true;
    if (dottedIPv4(host)) return host.startsWith("127.");
    const groups = ipv6(host);
    return groups !== null && groups.every((g, i) => g === (i === 7 ? 1 : 0));
  }

  function parseAuthority(authority) {
    if (authority.includes("@")) {
      fail("the link has a user name or password before the host; ots links have none");
    }
    let host;
    let port;
    if (authority.startsWith("[")) {
      const close = authority.indexOf("]");
      host = authority.slice(1, close);
      const rest = authority.slice(close + 1);
      if (close < 0 || ipv6(host) === null) fail("the link has an invalid host");
      if (rest && !rest.startsWith(":")) fail("the link has an invalid host");
      port = rest.slice(1);
      if (rest && !port) fail("the link has an invalid port");
    } else {
      const colon = authority.indexOf(":");
      host = colon < 0 ? authority : authority.slice(0, colon);
      port = colon < 0 ? "" : authority.slice(colon + 1);
      if (colon >= 0 && !port) fail("the link has an invalid port");
      if (!hostName(host)) fail("the link has an invalid host");
    }
    if (port && !(/^[0-9]+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
      fail("the link has an invalid port");
    }
    // Lower case only now: the checks above saw the characters as given (U+212A is not "k").
    return { host: host.toLowerCase(), port };
  }

  function decodePart(text, length, what) {
    if (!text) fail(what === "key" ? CUT_OFF : `the link has no ${what}`);
    if (text.includes("=")) fail(`the ${what} in the link has padding characters '='`);
    if (text.includes("%")) fail(`the ${what} in the link is percent-encoded`);
    if (!BASE64URL.test(text)) fail(`the ${what} in the link has characters outside base64url`);
    const expected = Math.ceil((length * 8) / 6);
    if (text.length !== expected) {
      fail(`the ${what} in the link has ${text.length} characters, expected ${expected}`);
    }
    try {
      return F.b64urlDecode(text, length);
    } catch (error) {
      return fail(`the ${what} in the link is not canonical base64url`);
    }
  }

  function idAndKey(server, text) {
    const hash = text.indexOf("#");
    const keyText = hash < 0 ? "" : text.slice(hash + 1);
    if (!keyText) fail(CUT_OFF);
    if (keyText.includes("#")) fail("the link has more than one '#'");
    const id = decodePart(text.slice(0, hash), ID_BYTES, "secret id");
    return { server, id, key: decodePart(keyText, KEY_BYTES, "key") };
  }

  /** Parse a full link or a bare id#key: {server (or null), id, key}. */
  function parseLink(input, { allowInsecureHttp = false } = {}) {
    const text = unwrap(String(input));
    if (!text) fail("the link is empty");
    if (text.startsWith("otsr_")) fail("this is a receipt, not a link");
    if (text[0] === "<" || text[text.length - 1] === ">") {
      fail("the link has an unmatched '<' or '>'");
    }
    if ([...text].some((c) => WHITE_SPACE.includes(c))) fail("the link contains whitespace");
    const schemeEnd = text.indexOf("://");
    if (schemeEnd < 0) {
      if (text.includes("/") || text.includes(":")) {
        fail("the link has no scheme or an unsupported one");
      }
      return idAndKey(null, text);
    }
    const scheme = text.slice(0, schemeEnd).toLowerCase();
    if (scheme !== "https" && scheme !== "http") {
      fail("unsupported link scheme; ots links start with https://");
    }
    const rest = text.slice(schemeEnd + 3);
    const hash = rest.indexOf("#");
    const beforeFragment = hash < 0 ? rest : rest.slice(0, hash);
    if (beforeFragment.includes("?")) {
      fail("the link has a query string ('?'); ots links have none");
    }
    const slash = beforeFragment.indexOf("/");
    const authority = slash < 0 ? beforeFragment : beforeFragment.slice(0, slash);
    const { host, port } = parseAuthority(authority);
    if (scheme === "http" && !allowInsecureHttp && !loopback(host)) {
      fail("refusing plain http:// to a host that is not this machine");
    }
    const path = slash < 0 ? "" : beforeFragment.slice(slash);
    const marker = path.lastIndexOf("/s/");
    const idText = path.slice(marker + 3);
    const prefix = path.slice(0, Math.max(marker, 0));
    const segments = prefix.split("/").slice(1); // the prefix is empty or starts with "/"
    if (marker < 0 || idText.includes("/") || !segments.every((s) => PATH_SEGMENT.test(s))) {
      fail("the link does not point to a secret");
    }
    const netloc = host.includes(":") ? `[${host}]` : host;
    const server = `${scheme}://${netloc}${port ? ":" + port : ""}${prefix}`;
    return idAndKey(server, idText + (hash < 0 ? "" : rest.slice(hash)));
  }

  root.OtsLinks = Object.freeze({ parseLink, unwrap, WHITE_SPACE });
})(globalThis);
