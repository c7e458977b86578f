"""The page's reader of docs/FORMAT.md (static/ots-format.js), run in real Chromium: it opens
every golden vector in tests/vectors and rejects every malformed one with the class the vector
names, whole and fed in pieces as a download arrives."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from core.test_vectors import BY_NAME, GOLDEN, MALFORMED, _rebuild_blob, body_of, mutate
from playwright.sync_api import Page
from processes import ServerProcess

from .conftest import Watch

#: Runs in the page: every case through OtsFormat, results back as plain data.
HARNESS = """
async (cases) => {
  const F = globalThis.OtsFormat;
  const L = globalThis.OtsLinks;
  await globalThis.sodium.ready;
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const sha256 = (bytes) => hex(globalThis.sodium.crypto_hash_sha256(bytes));
  const kindOf = (fn) => { try { fn(); return null; } catch (e) { return e.kind || String(e); } };

  function keysFor(header, key, passphrase, trace) {
    let stretched = null;
    if (header.passphrase) {
      F.checkKdf(header.kdf, { allowWeakKdf: true });
      trace.argon2 = true;
      const k = header.kdf;
      const s = globalThis.sodium;  // what argon2-worker.js runs
      stretched = s.crypto_pwhash(32, F.passphraseBytes(passphrase), k.salt, k.opslimit,
                                  k.memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
    }
    return F.deriveKeys(header, key, stretched);
  }

  function open(blob, id, key, passphrase, pieces, trace) {
    if (pieces === 0) {
      const header = F.parseHeader(blob);
      const opener = new F.Opener({ id, keys: keysFor(header, key, passphrase, trace) });
      const body = F.concat(...opener.push(blob), ...opener.finish());
      return { meta: opener.meta, body };
    }
    // As a download arrives: the keys come from the blob's own header once it is there.
    const opener = new F.Opener({ id, keys: (h) => keysFor(h, key, passphrase, trace) });
    const out = [];
    for (let i = 0; i < blob.length; i += pieces) {
      out.push(...opener.push(blob.slice(i, i + pieces)));
    }
    out.push(...opener.finish());
    return { meta: opener.meta, body: F.concat(...out) };
  }

  const results = [];
  for (const c of cases) {
    const r = { name: c.name };
    try {
      if (c.type === 'golden') {
        const link = L.parseLink(c.link);
        r.idOk = hex(link.id) === c.id && hex(link.key) === c.key;
        const blob = b64(c.blob);
        const header = F.parseHeader(blob);
        const keys = keysFor(header, link.key, c.passphrase, {});
        r.linkVerifier = hex(keys.linkVerifier);
        r.peekProof = hex(F.linkProof(link.id, link.key).verifier);
        for (const pieces of [0, 1000, 70000]) {
          const opened = open(blob, link.id, link.key, c.passphrase, pieces, {});
          r['sha' + pieces] = sha256(opened.body);
          r['meta' + pieces] = [opened.meta.kind, opened.meta.name, opened.meta.mediaType];
        }
      } else if (c.type === 'mutation' || c.type === 'forged') {
        const blob = b64(c.blob);
        for (const pieces of [0, 777]) {
          const trace = {};
          r['error' + pieces] = kindOf(() => {
            const id = F.b64urlDecode(c.idB64);
            const key = F.b64urlDecode(c.keyB64);
            if (pieces === 0) open(blob, id, key, c.passphrase, 0, trace);
            else open(blob, id, key, c.passphrase, pieces, trace);
          });
          r['argon2_' + pieces] = !!trace.argon2;
        }
      } else if (c.type === 'header') {
        const bytes = b64(c.header);
        r.error = kindOf(() => { r.length = F.parseHeader(bytes).length; });
      } else if (c.type === 'link') {
        r.error = kindOf(() => {
          const link = L.parseLink(c.text);
          [r.server, r.id, r.key] = [link.server, hex(link.id), hex(link.key)];
        });
      } else if (c.type === 'b64') {
        r.error = kindOf(() => { r.hex = hex(F.b64urlDecode(c.text, c.length)); });
      }
    } catch (e) {
      r.unexpected = (e.kind || '') + ' ' + e.message;
    }
    results.push(r);
  }
  return results;
}
"""


Results = dict[str, dict[str, Any]]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture(scope="module")
def results(server: ServerProcess, browser: Any) -> Iterator[Results]:
    page: Page = browser.new_page()
    try:
        page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
        page.wait_for_load_state("load")
        # The link grammar is its own asset, which the reveal page does not load.
        version = page.evaluate("document.querySelector('script[src*=ots-format]').src")
        page.add_script_tag(url=version.replace("ots-format.js", "ots-links.js"))
        cases: list[dict[str, Any]] = []
        for v in GOLDEN:
            cases.append(
                {
                    "type": "golden",
                    "name": "golden/" + v["name"],
                    "link": v["link"],
                    "id": v["id"],
                    "key": v["key"],
                    "passphrase": v["passphrase"],
                    "blob": b64(_rebuild_blob(v)),
                }
            )
        for m in MALFORMED["blob_mutations"]:
            v = BY_NAME[m["vector"]]
            cases.append(
                {
                    "type": "mutation",
                    "name": "mutation/" + m["name"],
                    "blob": b64(mutate(_rebuild_blob(v), m["mutation"])),
                    "idB64": b64url(bytes.fromhex(v["id"])),
                    "keyB64": b64url(bytes.fromhex(m.get("key") or v["key"])),
                    "passphrase": m.get("passphrase") or v["passphrase"],
                }
            )
        for f in MALFORMED["forged_plaintext"]:
            cases.append(
                {
                    "type": "forged",
                    "name": "forged/" + f["name"],
                    "blob": b64(bytes.fromhex(f["blob"])),
                    "idB64": b64url(bytes.fromhex(f["id"])),
                    "keyB64": b64url(bytes.fromhex(f["key"])),
                    "passphrase": None,
                }
            )
        for h in MALFORMED["headers"]:
            cases.append(
                {
                    "type": "header",
                    "name": "header/" + h["name"],
                    "header": b64(bytes.fromhex(h["header"])),
                }
            )
        for i, link in enumerate(MALFORMED["links"]):
            cases.append({"type": "link", "name": f"link/{i}", "text": link["text"]})
        for i, case in enumerate(MALFORMED["base64url"]):
            cases.append(
                {"type": "b64", "name": f"b64/{i}", "text": case["text"], "length": case["length"]}
            )
        answers = page.evaluate(HARNESS, cases)
        yield {answer["name"]: answer for answer in answers}
    finally:
        page.close()


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_page_opens_golden_vector(results: Results, vector: dict[str, Any]) -> None:
    r = results["golden/" + vector["name"]]
    assert "unexpected" not in r, r.get("unexpected")
    assert r["idOk"]
    assert r["linkVerifier"] == vector["expected"]["link_verifier"]
    assert r["peekProof"] == vector["expected"]["link_verifier"]
    body_sha = hashlib.sha256(body_of(vector)).hexdigest()
    meta = [vector["meta"]["kind"], vector["meta"]["name"], vector["meta"]["media_type"]]
    for pieces in (0, 1000, 70000):
        assert r[f"sha{pieces}"] == body_sha
        assert r[f"meta{pieces}"] == meta


@pytest.mark.parametrize(
    "case", MALFORMED["blob_mutations"], ids=[c["name"] for c in MALFORMED["blob_mutations"]]
)
def test_page_rejects_mutated_blob(results: Results, case: dict[str, Any]) -> None:
    r = results["mutation/" + case["name"]]
    assert "unexpected" not in r, r.get("unexpected")
    assert r["error0"] == case["error"]
    assert r["error777"] == case["error"]
    if case["error"] == "KdfParamsRefused":
        assert not r["argon2_0"], "Argon2id ran for refused parameters"
        assert not r["argon2_777"], "Argon2id ran for refused parameters"


@pytest.mark.parametrize(
    "case", MALFORMED["forged_plaintext"], ids=[c["name"] for c in MALFORMED["forged_plaintext"]]
)
def test_page_rejects_forged_plaintext(results: Results, case: dict[str, Any]) -> None:
    r = results["forged/" + case["name"]]
    assert r["error0"] == case["error"]
    assert r["error777"] == case["error"]


@pytest.mark.parametrize(
    "case", MALFORMED["headers"], ids=[c["name"] for c in MALFORMED["headers"]]
)
def test_page_header_cases(results: Results, case: dict[str, Any]) -> None:
    r = results["header/" + case["name"]]
    assert r["error"] == case["error"]
    if case["error"] is None:
        assert r["length"] == case["length"]


def test_page_link_cases(results: Results) -> None:
    for i, case in enumerate(MALFORMED["links"]):
        r = results[f"link/{i}"]
        if case["error"] is None:
            assert r["error"] is None, case["text"]
            assert (r["server"], r["id"], r["key"]) == (case["server"], case["id"], case["key"])
        else:
            assert r["error"] == "BadLink", case["text"]


def test_page_base64url_cases(results: Results) -> None:
    for i, case in enumerate(MALFORMED["base64url"]):
        r = results[f"b64/{i}"]
        if "error" in case:
            assert r["error"] == "FormatError", case
        else:
            assert r["error"] is None, case
            assert r["hex"] == case["hex"], case


def test_reader_page_loads_without_violations(
    server: ServerProcess, page: Page, watched: Watch
) -> None:
    page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof OtsFormat.Opener") == "function"
    assert watched.csp_violations(page) == []
    assert watched.page_errors == []


def test_page_reader_agrees_on_the_binding_grammar(server: ServerProcess, browser: Any) -> None:
    """The reader's copy of the binding grammar (ots-format.js) gives the server's verdict on
    every text of tests/binding_cases.py, each put in a bound header (FORMAT.md, Binding)."""
    from binding_cases import GRAMMAR_CASES

    from ots_server.oidc.binding import parse_binding

    def header(text: bytes) -> str:
        fixed = b"\x89OTS\x01\x01\x02" + bytes(16) + (1600).to_bytes(8, "big") + bytes(24)
        return b64(fixed + bytes([len(text)]) + text)

    cases = [t for t in GRAMMAR_CASES if t.isascii() and 1 <= len(t) <= 255]
    assert len(cases) > 30
    page: Page = browser.new_page()
    try:
        page.goto(f"{server.base_url}/s/AAAAAAAAAAAAAAAAAAAAAA")
        page.wait_for_load_state("load")
        verdicts = page.evaluate(
            """(headers) => headers.map((h) => {
              const bytes = Uint8Array.from(atob(h), (c) => c.charCodeAt(0));
              try { return globalThis.OtsFormat.parseHeader(bytes).binding; }
              catch (e) { return e.kind; }
            })""",
            [header(t.encode()) for t in cases],
        )
    finally:
        page.close()
    for text, verdict in zip(cases, verdicts, strict=True):
        try:
            expected = parse_binding(text).text
        except ValueError:
            expected = "FormatError"
        assert verdict == expected, text
