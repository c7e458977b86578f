"""The page's request module (static/ots-request.js) in real Chromium, against
tests/vectors/v1-requests.json and PyNaCl: the answer proof and salt of the vector, the link
read from an address (every vector link a page can be opened at, good or bad), the small-order
public keys refused, and sealed answers that the requester's private key opens."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from nacl.bindings import crypto_box_seal_open, crypto_scalarmult_base
from playwright.sync_api import Page, expect
from processes import ServerProcess

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "v1-requests.json").read_text())
VECTOR = VECTORS["vectors"][0]

HARNESS = """
async (c) => {
  const R = globalThis.OtsRequest;
  await globalThis.sodium.ready;
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  const attempt = (f) => {
    try {
      return { ok: f() };
    } catch (e) {
      return { error: e.kind || e.name, reason: e.reason || null };
    }
  };
  const id = unhex(c.request_id), pk = unhex(c.public_key);
  const [sid, skey] = [unhex(c.secret_id), unhex(c.secret_key)];
  const range = { ttl_min: 60, ttl_max: 86400 };
  return {
    salt: hex(R.requestSalt(id)),
    proof: hex(R.answerProof(id, pk)),
    links: c.links.map(([path, hash]) => attempt(() => {
      const link = R.readLink(path, hash);
      return { idText: link.idText, id: hex(link.id), publicKey: hex(link.publicKey) };
    })),
    sealable: c.keys.map((k) => R.isSealable(unhex(k))),
    sealed: [0, 1].map(() => hex(R.sealAnswer(sid, skey, pk))),
    sealedToBad: attempt(() => R.sealAnswer(sid, skey, new Uint8Array(32))),
    shortId: attempt(() => R.sealAnswer(sid.slice(1), skey, pk)),
    ttls: c.ttls.map(([expires, now]) => R.answerTtl(expires, now, range)),
  };
}
"""


@pytest.fixture(scope="module")
def results(server: ServerProcess, browser: Any) -> dict[str, Any]:
    context = browser.new_context()
    page: Page = context.new_page()
    page.goto(f"{server.base_url}/r/x")  # no key: the page stops, its modules are loaded
    expect(page.locator("#error")).to_be_visible(timeout=30_000)
    bad_keys = [
        urllib.parse.urlsplit(v["text"]).fragment
        for v in VECTORS["links"]
        if "point" in v.get("why", "") or "top bit" in v.get("why", "")
    ]
    case = {
        "request_id": VECTOR["request_id"],
        "public_key": VECTOR["public_key"],
        "secret_id": VECTOR["secret"]["id"],
        "secret_key": VECTOR["secret"]["key"],
        "links": [address(v["text"]) for v in PAGE_LINKS],
        "keys": [
            VECTOR["public_key"],
            *[b64_hex(k) for k in bad_keys],
            "00" * 31,
            "09" * 33,
        ],
        "ttls": [[1000 + 3600, 1000], [1000 + 10, 1000], [1000 + 10**6, 1000], [900, 1000.7]],
    }
    out: dict[str, Any] = page.evaluate(HARNESS, case)
    out["bad_keys"] = len(bad_keys)
    context.close()
    return out


def b64_hex(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).hex()


def address(text: str) -> tuple[str, str]:
    """(location.pathname, location.hash) of a page opened at this link."""
    parts = urllib.parse.urlsplit(text.strip().strip("<>"))
    return parts.path, ("#" + parts.fragment) if "#" in text else ""


#: Every vector link a browser can open: full links to an https or loopback server. (The
#: host, scheme and unwrapping rules are the browser's business before the page exists.)
PAGE_LINKS = [
    v
    for v in VECTORS["links"]
    if "://" in v["text"] and v.get("why") != "http to a host that is not loopback"
]


def test_the_answer_proof_and_salt_are_the_vectors(results: dict[str, Any]) -> None:
    assert results["salt"] == VECTOR["rsalt"]
    assert results["proof"] == VECTOR["answer_proof"]


def test_every_page_link_vector_is_read_or_refused_as_the_vector_says(
    results: dict[str, Any],
) -> None:
    assert len(PAGE_LINKS) >= 15
    for vector, got in zip(PAGE_LINKS, results["links"], strict=True):
        if vector["error"] is None:
            assert got["ok"]["id"] == vector["request_id"], vector
            assert got["ok"]["publicKey"] == vector["public_key"], vector
        else:
            assert got["error"] == "BadLink", vector
            empty = vector.get("why") in ("no fragment", "empty fragment")
            assert got["reason"] == ("no_key" if empty else "damaged"), vector


def test_small_order_keys_are_not_sealable(results: dict[str, Any]) -> None:
    assert results["bad_keys"] == 6
    assert results["sealable"] == [True] + [False] * 6 + [False, False]


def test_the_sealed_answer_opens_with_the_private_key(results: dict[str, Any]) -> None:
    private_key = bytes.fromhex(VECTOR["private_key"])
    public_key = crypto_scalarmult_base(private_key)
    assert public_key.hex() == VECTOR["public_key"]
    first, second = (bytes.fromhex(s) for s in results["sealed"])
    assert len(first) == len(second) == 96
    assert first != second  # a fresh ephemeral key each time
    for sealed in (first, second):
        opened = crypto_box_seal_open(sealed, public_key, private_key)
        assert opened.hex() == VECTOR["secret"]["id"] + VECTOR["secret"]["key"]
    assert results["sealedToBad"] == {"error": "BadLink", "reason": "damaged"}
    assert results["shortId"]["error"] == "TypeError"


def test_the_answer_lives_what_is_left_of_the_request_within_the_range(
    results: dict[str, Any],
) -> None:
    assert results["ttls"] == [3600, 60, 86400, 60]
