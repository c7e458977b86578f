"""The page's writer of docs/FORMAT.md (static/ots-writer.js), run in real Chromium: given a
golden vector's inputs and random bytes it writes the vector's blob byte for byte, and for any
input it writes exactly the CLI's bytes (same suite, padding and length), from a byte array or
from a Blob read in slices; a file that changes while it is read never gives a blob."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from core.test_vectors import GOLDEN, _rebuild_blob
from playwright.sync_api import Page
from processes import ServerProcess

from ots_cli.core.crypto import seal, suite_for
from ots_cli.core.envelope import Meta

#: The vectors a browser writes: not the bound ones (the page has no `--for`; the page's reader
#: opens those: tests/web/test_format_reader.py).
WRITTEN = [v for v in GOLDEN if v["binding"] is None]

HARNESS = """
async (cases) => {
  const F = globalThis.OtsFormat, W = globalThis.OtsWriter;
  await globalThis.sodium.ready;
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => i % 251);
  const replay = (bytes) => {
    let at = 0;
    return (n) => bytes.slice(at, (at += n));
  };
  const results = [];
  for (const c of cases) {
    const r = { name: c.name };
    try {
      const body = c.utf8 !== null ? new TextEncoder().encode(c.utf8) : pattern(c.pattern);
      const source = c.blob ? new Blob([body]) : body;
      const sealed = await W.seal(source, {
        id: unhex(c.id), key: unhex(c.key), meta: c.meta, passphrase: c.passphrase,
        opslimit: c.opslimit, memlimit: c.memlimit, suite: c.suite, random: replay(unhex(c.random)),
      });
      const parts = [];
      for await (const chunk of sealed.chunks()) parts.push(chunk);
      const blob = F.concat(...parts);
      r.length = blob.length;
      r.announced = sealed.length;
      r.sha256 = hex(globalThis.sodium.crypto_hash_sha256(blob));
      r.header = hex(sealed.headerBytes);
      r.linkVerifier = hex(sealed.linkVerifier);
      r.plan = W.plan(c.meta, body.length, { passphrase: c.passphrase !== null });
    } catch (e) {
      r.error = (e.kind || e.name) + ': ' + e.message;
    }
    results.push(r);
  }
  return results;
}
"""

#: A Blob that lies: shorter slices than asked, or a read that fails (a file changed on disk).
CHANGED_FILE = """
async (mode) => {
  const W = globalThis.OtsWriter;
  await globalThis.sodium.ready;
  const real = new Blob([new Uint8Array(3 * 1024 * 1024)]);
  const liar = {
    size: real.size,
    slice: (a, b) => ({
      arrayBuffer: async () => {
        if (mode === 'unreadable' && a > 0) throw new DOMException('changed', 'NotReadableError');
        const bytes = await real.slice(a, b).arrayBuffer();
        return mode === 'short' && a > 0 ? bytes.slice(1) : bytes;
      },
    }),
  };
  const sealed = await W.seal(liar, { meta: { kind: 'file', name: 'x.bin' } });
  let chunks = 0;
  try {
    for await (const chunk of sealed.chunks()) chunks += 1;
  } catch (e) {
    return { error: e.kind, chunks };
  }
  return { error: null, chunks };
}
"""


@pytest.fixture(scope="module")
def page_with_writer(server: ServerProcess, browser: Any) -> Iterator[Page]:
    page: Page = browser.new_page()
    page.goto(f"{server.base_url}/")
    page.wait_for_load_state("load")
    yield page
    page.close()


def vector_case(vector: dict[str, Any], *, blob: bool) -> dict[str, Any]:
    kdf = vector["kdf"] or {"opslimit": 2, "memlimit": 64 << 20}
    spec = vector["body"]
    meta = vector["meta"]
    return {
        "name": vector["name"] + (" (blob)" if blob else ""),
        "utf8": spec.get("utf8"),
        "pattern": spec.get("pattern_i_mod_251"),
        "blob": blob,
        "id": vector["id"],
        "key": vector["key"],
        "meta": {"kind": meta["kind"], "name": meta["name"], "mediaType": meta["media_type"]},
        "passphrase": vector["passphrase"],
        "opslimit": kdf["opslimit"],
        "memlimit": kdf["memlimit"],
        "suite": vector["suite"],
        "random": "".join(vector["random"])
        if isinstance(vector["random"], list)
        else vector["random"],
    }


def test_the_writer_writes_every_golden_vector_byte_for_byte(page_with_writer: Page) -> None:
    cases = [vector_case(v, blob=blob) for v in WRITTEN for blob in (False, True)]
    results = page_with_writer.evaluate(HARNESS, cases)
    for vector in WRITTEN:
        expected = _rebuild_blob(vector)
        for result in results:
            if result["name"] not in (vector["name"], vector["name"] + " (blob)"):
                continue
            assert "error" not in result, result
            assert result["length"] == result["announced"] == len(expected), result["name"]
            assert result["sha256"] == hashlib.sha256(expected).hexdigest(), result["name"]
            assert result["linkVerifier"] == vector["expected"]["link_verifier"]


SIZES = [0, 1, 1024, 1025, 1590, 1591, 1600, 20_000, 65_526, 65_527, 65_536, 65_537, 131_077,
         300_000, 1_100_000]  # fmt: skip
METAS = [
    Meta(),
    Meta(kind="file", name="report.pdf", media_type="application/pdf"),
    Meta(kind="file", name=None, media_type=None),
]


def test_the_writer_writes_the_clis_bytes_for_any_input(page_with_writer: Page) -> None:
    """Same inputs and random bytes as the CLI's seal, suite chosen by the rule on both sides:
    the same blob, whether the body is a byte array or a Blob read in slices."""
    random = bytes(range(256))[:40]
    cases, expected = [], {}
    for size in SIZES:
        for index, meta in enumerate(METAS):
            body = bytes(i % 251 for i in range(size))
            sealed = seal(
                body,
                id=bytes(range(16)),
                key=bytes(range(32, 64)),
                meta=meta,
                suite=suite_for(meta, size),
                random=lambda n: random[:n],
            )
            for blob in (False, True):
                name = f"{size}/{index}/{blob}"
                expected[name] = sealed
                cases.append(
                    {
                        "name": name,
                        "utf8": None,
                        "pattern": size,
                        "blob": blob,
                        "id": bytes(range(16)).hex(),
                        "key": bytes(range(32, 64)).hex(),
                        "meta": {
                            "kind": meta.kind,
                            "name": meta.name,
                            "mediaType": meta.media_type,
                        },
                        "passphrase": None,
                        "opslimit": None,
                        "memlimit": None,
                        "suite": None,
                        "random": random[:24].hex(),
                    }
                )
    for result in page_with_writer.evaluate(HARNESS, cases):
        sealed = expected[result["name"]]
        assert "error" not in result, result
        assert result["header"] == sealed.header_bytes.hex(), result["name"]
        assert result["sha256"] == hashlib.sha256(sealed.blob).hexdigest(), result["name"]
        assert result["length"] == result["plan"]["length"] == len(sealed.blob)
        assert result["plan"]["suite"] == int(sealed.header.suite)
        assert result["plan"]["paddedLength"] == sealed.header.padded_length


@pytest.mark.parametrize("mode", ["short", "unreadable"])
def test_a_file_that_changes_while_read_gives_no_blob(page_with_writer: Page, mode: str) -> None:
    result = page_with_writer.evaluate(CHANGED_FILE, mode)
    assert result["error"] == "FormatError"
    # The header and the 16 chunks of the first 1 MiB slice, never the rest (49 in all).
    assert result["chunks"] == 1 + 16


def test_the_writer_refuses_what_the_format_refuses(page_with_writer: Page) -> None:
    refused = page_with_writer.evaluate(
        """async () => {
          const W = globalThis.OtsWriter;
          await globalThis.sodium.ready;
          const attempt = async (options) => {
            try { await W.seal(new Uint8Array(1), options); return null; }
            catch (e) { return e.name; }
          };
          return [
            await attempt({ passphrase: '' }),
            await attempt({ meta: { kind: 'file', name: 'a/b' } }),
            await attempt({ meta: { kind: 'file', name: '..' } }),
            await attempt({ meta: { kind: 'text', name: 'x' } }),
            await attempt({ meta: { kind: 'file', mediaType: 'é' } }),
            await attempt({ id: new Uint8Array(15), key: new Uint8Array(32) }),
            W.sendableName('a/b.txt'), W.sendableName('ok.txt'), W.sendableName('\\u0007'),
            W.sendableMediaType('text/plain'), W.sendableMediaType('tëxt'),
          ];
        }"""
    )
    assert refused[:6] == ["TypeError"] * 6
    assert refused[6:] == ["a_b.txt", "ok.txt", None, "text/plain", None]


def test_a_fresh_id_and_key_each_time(page_with_writer: Page) -> None:
    pairs = page_with_writer.evaluate(
        """() => Array.from({ length: 50 }, () => {
             const { id, key } = OtsWriter.newIdAndKey();
             return [OtsFormat.b64urlEncode(id), OtsFormat.b64urlEncode(key)];
           })"""
    )
    assert len({p[0] for p in pairs}) == len({p[1] for p in pairs}) == 50
    assert all(len(i) == 22 and len(k) == 43 for i, k in pairs)
