/*
 * ots-request.js: the responder's side of docs/FORMAT.md "Requests" for the pages: the request
 * link as the browser parsed it, the request key schedule (the answer proof) and the sealed
 * answer. The mirror of the CLI's request_links.py and request_crypto.py.
 *
 * One module, no network, no DOM. It uses ots-format.js for base64url and its error class,
 * and libsodium.js (ready) for HMAC-SHA256, X25519 and crypto_box_seal.
 *
 * Invariants:
 * - A link is read from the address the browser parsed: the path must end in `/r/<id>` and
 *   the fragment must be the public key, both canonical unpadded base64url of exactly 16 and
 *   32 bytes (no percent-encoding, no padding, no second `#`). Anything else is a BadLink with
 *   a `reason`: "no_key" (no or an empty fragment) or "damaged"; no message quotes the input.
 * - A public key libsodium refuses to seal to (a point of small order, on the curve or its
 *   twist, whatever its top bit) is a damaged link: it is refused when the link is read, before
 *   anything is derived or sent, by the same probe as the CLI (X25519 with a fixed scalar
 *   fails exactly for those points).
 * - The public key, the secret's key and the sealed box's plaintext never leave this module
 *   except to the caller; the plaintext of a sealed box is zeroed once sealed.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const ID_BYTES = 16;
  const KEY_BYTES = 32;
  /** crypto_box_SEALBYTES (an ephemeral public key and a Poly1305 tag) + a secret's id and key. */
  const SEALED_BYTES = 48 + ID_BYTES + KEY_BYTES;
  const encode = (text) => new TextEncoder().encode(text);
  const SALT_PREFIX = encode("ots/v1/request-salt");
  const ANSWER_PROOF_INFO = encode("ots/v1 request-answer-proof");
  /** The CLI's probe (request_crypto._PROBE_SCALAR): any scalar shows a refused point. */
  const PROBE_LABEL = encode("ots/v1 sealable probe");

  const sodium = () => root.sodium;

  function badLink(reason) {
    const error = new F.OtsFormatError("BadLink", reason === "no_key"
      ? "the request link has no public key" : "the request link is damaged");
    error.reason = reason;
    return error;
  }

  function decode(text, length) {
    try {
      const bytes = F.b64urlDecode(text, length);
      if (bytes.length === length && F.b64urlEncode(bytes) === text) return bytes;
    } catch (error) {
      // not canonical base64url of that length: damaged
    }
    throw badLink("damaged");
  }

  /** Whether libsodium seals to `publicKey`: 32 bytes that are not a point of small order. */
  function isSealable(publicKey) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) return false;
    const s = sodium();
    try {
      const product = s.crypto_scalarmult(s.crypto_hash_sha256(PROBE_LABEL), publicKey);
      product.fill(0);
      return true;
    } catch (error) {
      return false; // libsodium refused the point: X25519 gave the all-zero output
    }
  }

  /**
   * The request in the page's own address: `pathname` (location.pathname) and `hash`
   * (location.hash, with its `#`). Resolves to {idText, id, publicKey}; throws a BadLink.
   */
  function readLink(pathname, hash) {
    const match = /\/r\/([^/]*)$/.exec(pathname);
    if (!hash || hash === "#") throw badLink("no_key");
    if (!match || !hash.startsWith("#")) throw badLink("damaged");
    const idText = match[1];
    const id = decode(idText, ID_BYTES);
    const publicKey = decode(hash.slice(1), KEY_BYTES);
    if (!isSealable(publicKey)) throw badLink("damaged");
    return { idText, id, publicKey };
  }

  function hmac(key, ...messages) {
    const s = sodium();
    const state = s.crypto_auth_hmacsha256_init(key);
    for (const message of messages) s.crypto_auth_hmacsha256_update(state, message);
    return s.crypto_auth_hmacsha256_final(state);
  }

  /** HKDF-SHA256 (RFC 5869) for a 32-byte output: one expand block. */
  function hkdf32(ikm, salt, info) {
    const prk = hmac(salt, ikm);
    const out = hmac(prk, info, Uint8Array.of(1));
    prk.fill(0);
    return out;
  }

  /** `"ots/v1/request-salt" || request_id`: the salt of both request proofs. */
  function requestSalt(id) {
    if (!(id instanceof Uint8Array) || id.length !== ID_BYTES) throw new TypeError("a request id is 16 bytes");
    return F.concat(SALT_PREFIX, id);
  }

  /** The proof that the caller holds the link (peek, answer). */
  function answerProof(id, publicKey) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) {
      throw new TypeError("an X25519 public key is 32 bytes");
    }
    return hkdf32(publicKey, requestSalt(id), ANSWER_PROOF_INFO);
  }

  /** `crypto_box_seal(secretId || secretKey, publicKey)`: 96 bytes only the private key opens. */
  function sealAnswer(secretId, secretKey, publicKey) {
    if (secretId.length !== ID_BYTES || secretKey.length !== KEY_BYTES) {
      throw new TypeError("an answer holds a 16-byte secret id and a 32-byte key");
    }
    if (!isSealable(publicKey)) throw badLink("damaged");
    const plaintext = F.concat(secretId, secretKey);
    try {
      const sealed = sodium().crypto_box_seal(plaintext, publicKey);
      if (sealed.length !== SEALED_BYTES) throw new Error("crypto_box_seal gave the wrong length");
      return sealed;
    } catch (error) {
      if (error instanceof Error && /wrong length/.test(error.message)) throw error;
      throw badLink("damaged");
    } finally {
      plaintext.fill(0);
    }
  }

  /** The answer's lifetime: what is left of the request's, within the server's range. */
  function answerTtl(expiresAt, now, limits) {
    return Math.min(Math.max(expiresAt - Math.floor(now), limits.ttl_min), limits.ttl_max);
  }

  root.OtsRequest = Object.freeze({
    SEALED_BYTES,
    readLink,
    isSealable,
    requestSalt,
    answerProof,
    sealAnswer,
    answerTtl,
  });
})(globalThis);
