/*
 * ots-format.js: the browser's reader of docs/FORMAT.md (ots secret format, version 1).
 *
 * No I/O, no DOM: the header, the key schedule, both suites, the envelope, padding and every
 * check the spec names, with its error classes: bytes in, bytes or an error out. The link
 * grammar is ots-links.js (the reveal page does not load it: the browser parsed the address).
 *
 * Invariants:
 * - Every rejection is an OtsFormatError whose `kind` is one of BadLink, FormatError,
 *   UnsupportedVersion, KdfParamsRefused, WeakKdf, DecryptionFailed (docs/FORMAT.md
 *   "Errors").
 * - Argon2id parameters are checked before Argon2id runs; a header announcing more than the
 *   reader accepts is refused before any ciphertext is read.
 * - Stream output is authentic as released but complete only after `finish()` returned without
 *   error: a consumer must discard (abort) what it wrote when any call throws.
 * - No message ever contains the key, a proof or any part of the input text.
 *
 * Needs libsodium-wrappers-sumo's `sodium` (ready) on the global object, in a page or a Worker.
 */
"use strict";

(function (root) {
  const MAGIC = [0x89, 0x4f, 0x54, 0x53];
  const VERSION = 1;
  const SUITE_SEALED = 1;
  const SUITE_STREAM = 2;
  const FLAG_PASSPHRASE = 0x01;
  const BINDING = /^(github:[a-zA-Z\d-]{1,39}\/(?!\.\.?([@:]|$))[\w.-]{1,100}(@refs\/[!-9;-~]+)?(:[\w.-]+(:(?!\.\.?$)[\w.-]+)?|::(?!\.\.?$)[\w.-]+)?|gitlab:((?!\.\.?(\/|@|$))[\w.-]+\/)+(?!\.\.?(@|$))[\w.-]+(@[!-9;-~]+)?)$/;
  const NONCE_BYTES = 24;
  const HEADER_LENGTH = 55;
  const HEADER_LENGTH_KDF = 79;
  const CHUNK_SIZE = 65536;
  const SEALED_ABYTES = 16;
  const STREAM_ABYTES = 17;
  const PAD_FLOOR = 1600;
  const PAD_MAX = 2 ** 40;
  const SEALED_MAX = 2 ** 27;
  const KDF = Object.freeze({
    opsMin: 2,
    opsMax: 10,
    memMin: 64 * 1024 * 1024,
    memMax: 1024 * 1024 * 1024,
    // The reference writer's default cost: below it a reader refuses unless told to allow it,
    // since the header is not authenticated until decryption (a server could weaken it).
    defaultOps: 6,
    defaultMem: 256 * 1024 * 1024,
  });
  const TAG_MESSAGE = 0;
  const TAG_FINAL = 3;
  const KIND_TEXT = 1;
  const KIND_FILE = 2;

  const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const LABEL_SALT = ascii("ots/v1/salt");
  const LABEL_LINK = ascii("ots/v1 link-proof");
  const LABEL_PAYLOAD = ascii("ots/v1 payload-key");
  const LABEL_PASSPHRASE = ascii("ots/v1 passphrase-proof");

  class OtsFormatError extends Error {
    constructor(kind, message) {
      super(message);
      this.name = "OtsFormatError";
      this.kind = kind;
    }
  }
  const fail = (kind, message) => {
    throw new OtsFormatError(kind, message);
  };

  const sodium = () => {
    const s = root.sodium;
    if (!s || typeof s.crypto_auth_hmacsha256_init !== "function") {
      throw new Error("libsodium is not loaded");
    }
    return s;
  };

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  // --- base64url (unpadded, canonical only) ------------------------------------------------

  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

  function b64urlEncode(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
      const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
      for (let j = 0; j < chars; j++) out += B64[(n >> (18 - 6 * j)) & 63];
    }
    return out;
  }

  function b64urlDecode(text, length = null) {
    if (typeof text !== "string") fail("FormatError", "not base64url text");
    if (text.length % 4 === 1) fail("FormatError", "base64url of an impossible length");
    const out = new Uint8Array(Math.floor((text.length * 6) / 8));
    let bits = 0;
    let value = 0;
    let o = 0;
    for (const c of text) {
      const v = B64_INDEX.get(c);
      if (v === undefined) fail("FormatError", "a character outside unpadded base64url");
      value = ((value << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (value >> bits) & 0xff;
      }
    }
    if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) {
      fail("FormatError", "base64url with non-zero trailing bits");
    }
    if (length !== null && out.length !== length) {
      fail("FormatError", `base64url of ${out.length} bytes, expected ${length}`);
    }
    return out;
  }

  // --- padding -----------------------------------------------------------------------------

  const bitLength = (n) => (n === 0 ? 0 : n.toString(2).length);

  function padme(n) {
    const e = bitLength(n) - 1;
    const s = bitLength(e);
    const step = 2 ** (e - s);
    return Math.ceil(n / step) * step;
  }

  const paddedLength = (n) => (n <= PAD_FLOOR ? PAD_FLOOR : padme(n));

  // --- header ------------------------------------------------------------------------------

  function readU32(bytes, offset) {
    return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, false);
  }

  function readU64(bytes, offset) {
    const high = readU32(bytes, offset);
    const low = readU32(bytes, offset + 4);
    // Above 2^53 a Number is inexact; anything that large is refused by the caller anyway.
    return high >= 2 ** 21 ? Infinity : high * 2 ** 32 + low;
  }

  /**
   * Parse a header in the spec's order of checks: {header fields, length, bytes}. With
   * `partial`, too few bytes (and nothing wrong so far) gives null instead of an error.
   */
  function parseHeader(data, { partial = false } = {}) {
    const truncated = () => (partial ? null : fail("FormatError", "the header is truncated"));
    for (let i = 0; i < Math.min(4, data.length); i++) {
      if (data[i] !== MAGIC[i]) fail("FormatError", "not an ots secret");
    }
    if (data.length < 5) return truncated();
    if (data[4] !== VERSION) fail("UnsupportedVersion", "unsupported format version");
    if (data.length > 5 && data[5] !== SUITE_SEALED && data[5] !== SUITE_STREAM) {
      fail("UnsupportedVersion", "unsupported suite");
    }
    if (data.length > 6 && (data[6] & ~3) !== 0) {
      fail("UnsupportedVersion", "unsupported flags");
    }
    if (data.length < HEADER_LENGTH) return truncated();
    const passphrase = (data[6] & FLAG_PASSPHRASE) !== 0;
    const fixed = passphrase ? HEADER_LENGTH_KDF : HEADER_LENGTH;
    let length = fixed, binding = null;
    if (data.length < fixed) return truncated();
    const suite = data[5];
    const padded = readU64(data, 23);
    if (!(padded >= PAD_FLOOR && padded <= PAD_MAX && paddedLength(padded) === padded)) {
      fail("FormatError", "the padded length is not a padding bucket");
    }
    if (suite === SUITE_SEALED && padded > SEALED_MAX) {
      fail("FormatError", "a sealed secret above 128 MiB");
    }
    if (data[6] & 2) {
      length += 1 + (data[fixed] ?? 0);
      if (data.length < length) return truncated();
      binding = String.fromCharCode(...data.subarray(fixed + 1, length));
      if (!BINDING.test(binding)) fail("FormatError", "bad binding");
    }
    const bytes = data.slice(0, length);
    return {
      binding,
      suite,
      passphrase,
      id: bytes.slice(7, 23),
      paddedLength: padded,
      kdf: passphrase
        ? { opslimit: readU32(bytes, 31), memlimit: readU32(bytes, 35), salt: bytes.slice(39, 55) }
        : null,
      nonce: bytes.slice(fixed - NONCE_BYTES, fixed),
      length,
      bytes,
    };
  }

  /** Ciphertext chunk sizes of a suite-2 body (suite 1: one piece). */
  function chunkSizes(header) {
    if (header.suite === SUITE_SEALED) return [header.paddedLength + SEALED_ABYTES];
    const count = Math.max(1, Math.ceil(header.paddedLength / CHUNK_SIZE));
    const last = header.paddedLength - CHUNK_SIZE * (count - 1);
    return { count, full: CHUNK_SIZE + STREAM_ABYTES, last: last + STREAM_ABYTES };
  }

  function blobLength(header) {
    const sizes = chunkSizes(header);
    if (Array.isArray(sizes)) return header.length + sizes[0];
    return header.length + (sizes.count - 1) * sizes.full + sizes.last;
  }

  // --- key schedule ------------------------------------------------------------------------

  function hmac(key, ...messages) {
    const s = sodium();
    const state = s.crypto_auth_hmacsha256_init(key);
    for (const message of messages) s.crypto_auth_hmacsha256_update(state, message);
    return s.crypto_auth_hmacsha256_final(state);
  }

  /** HKDF-SHA256 (RFC 5869) for a 32-byte output: one expand block. */
  function hkdf32(ikm, salt, info) {
    const prk = hmac(salt, ikm);
    return hmac(prk, info, Uint8Array.of(1));
  }

  /**
   * Refuse Argon2id parameters before running it: outside the spec's bounds
   * (KdfParamsRefused), or less work (passes x memory) than the default writer cost (WeakKdf,
   * the CLI's reader rule: the header is the server's word until decryption, and a hostile
   * server could lower the cost to make the passphrase proof cheaper to attack).
   */
  function checkKdf(kdf, { allowWeakKdf = false } = {}) {
    const { opslimit, memlimit } = kdf;
    if (opslimit < KDF.opsMin || opslimit > KDF.opsMax || memlimit < KDF.memMin ||
        memlimit > KDF.memMax || memlimit % 1024 !== 0) {
      fail("KdfParamsRefused", "the passphrase parameters are outside the accepted bounds");
    }
    if (!allowWeakKdf && opslimit * memlimit < KDF.defaultOps * KDF.defaultMem) {
      fail("WeakKdf", "the passphrase parameters are weaker than the default cost");
    }
  }

  function passphraseBytes(passphrase) {
    if (typeof passphrase !== "string" || passphrase === "") {
      throw new TypeError("an empty passphrase means no passphrase");
    }
    return new TextEncoder().encode(passphrase.normalize("NFC"));
  }

  /** The link proof and its verifier: needed before any passphrase (peek). */
  function linkProof(id, key) {
    const proof = hkdf32(key, concat(LABEL_SALT, id), LABEL_LINK);
    return { proof, verifier: sodium().crypto_hash_sha256(proof) };
  }

  /**
   * Derive every key of a secret. `stretched` is Argon2id's 32-byte output for a passphrase
   * secret (computed by the caller, usually in a Worker, after checkKdf), else null.
   */
  function deriveKeys(header, key, stretched = null) {
    if (header.passphrase !== (stretched !== null)) {
      throw new TypeError("a passphrase secret needs Argon2id's output, and only it does");
    }
    const salt = concat(LABEL_SALT, header.id);
    const ikm = stretched === null ? key : concat(key, stretched);
    const keys = {
      linkProof: hkdf32(key, salt, LABEL_LINK),
      payloadKey: hkdf32(ikm, salt, LABEL_PAYLOAD),
      passphraseProof: stretched === null ? null : hkdf32(ikm, salt, LABEL_PASSPHRASE),
    };
    keys.linkVerifier = sodium().crypto_hash_sha256(keys.linkProof);
    keys.passphraseVerifier =
      keys.passphraseProof === null ? null : sodium().crypto_hash_sha256(keys.passphraseProof);
    return keys;
  }

  // --- envelope ----------------------------------------------------------------------------

  function validName(bytes) {
    let name;
    try {
      name = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      return null;
    }
    if (name === "." || name === "..") return null;
    for (const c of name) {
      const code = c.codePointAt(0);
      if (c === "/" || c === "\\" || code < 0x20 || (code >= 0x7f && code <= 0x9f)) return null;
    }
    return name;
  }

  /** Parse the envelope at the start of the plaintext: {kind, bodyLength, name, mediaType, length}. */
  function parseEnvelope(plain, padded) {
    const need = (n) => {
      if (plain.length < n) fail("FormatError", "the envelope is truncated");
    };
    need(9);
    const kind = plain[0];
    if (kind !== KIND_TEXT && kind !== KIND_FILE) fail("FormatError", "unknown secret kind");
    const bodyLength = readU64(plain, 1);
    let offset = 9;
    let name = null;
    if (kind === KIND_FILE) {
      need(offset + 1);
      const n = plain[offset];
      need(offset + 1 + n);
      if (n > 0) {
        name = validName(plain.subarray(offset + 1, offset + 1 + n));
        if (name === null) fail("FormatError", "the file name is not a valid base name");
      }
      offset += 1 + n;
    }
    need(offset + 1);
    const m = plain[offset];
    need(offset + 1 + m);
    let mediaType = null;
    if (m > 0) {
      const bytes = plain.subarray(offset + 1, offset + 1 + m);
      if (!bytes.every((b) => b >= 0x20 && b <= 0x7e)) {
        fail("FormatError", "the media type is not printable ASCII");
      }
      mediaType = String.fromCharCode(...bytes);
    }
    offset += 1 + m;
    if (!(offset + bodyLength <= padded && paddedLength(offset + bodyLength) === padded)) {
      fail("FormatError", "the body length does not match the padding");
    }
    return { kind: kind === KIND_TEXT ? "text" : "file", bodyLength, name, mediaType, length: offset };
  }

  // --- opening -----------------------------------------------------------------------------

  /**
   * libsodium's secretstream pull on buffers allocated once in its WebAssembly memory, so that
   * a stream of any size leaves one copy of its plaintext (the output) and no other garbage:
   * the wrapper's `crypto_secretstream_xchacha20poly1305_pull` allocates and copies twice per
   * chunk, which left 80 MiB of garbage behind a 256 MiB file.
   */
  class Puller {
    constructor(header, payloadKey) {
      this.raw = root.libsodium;
      this.state = sodium().crypto_secretstream_xchacha20poly1305_init_pull(header.nonce, payloadKey);
      const raw = this.raw;
      this.cipher = raw._malloc(CHUNK_SIZE + STREAM_ABYTES);
      this.message = raw._malloc(CHUNK_SIZE);
      this.tag = raw._malloc(1);
      this.ad = raw._malloc(header.bytes.length);
      this.adLength = header.bytes.length;
      raw.HEAPU8.set(header.bytes, this.ad);
    }

    /** Copy ciphertext bytes to `offset` of the chunk being assembled in libsodium's memory. */
    fill(bytes, offset) {
      this.raw.HEAPU8.set(bytes, this.cipher + offset); // re-read: the memory may have grown
    }

    /**
     * {message, tag} for the `length` bytes fill() assembled, or null if they fail to verify.
     * `message` is a view of libsodium's memory, valid until the next pull: copy what you keep.
     */
    pull(length) {
      const raw = this.raw;
      // The C function's unsigned long long lengths are two 32-bit words each here (low,
      // high), as libsodium-wrappers passes them.
      const rc = raw._crypto_secretstream_xchacha20poly1305_pull(
        this.state, this.message, 0, this.tag, this.cipher, length, 0, this.ad, this.adLength, 0
      );
      if (rc !== 0) return null;
      const message = raw.HEAPU8.subarray(this.message, this.message + length - STREAM_ABYTES);
      return { message, tag: raw.HEAPU8[this.tag] };
    }

    free() {
      const raw = this.raw;
      raw.HEAPU8.fill(0, this.message, this.message + CHUNK_SIZE);
      raw.HEAPU8.fill(0, this.cipher, this.cipher + CHUNK_SIZE + STREAM_ABYTES);
      for (const address of [this.cipher, this.message, this.tag, this.ad, this.state]) {
        raw._free(address);
      }
    }
  }

  /**
   * An incremental reader of one blob: feed it the bytes of the reveal as they arrive
   * (`push`), get body pieces back, and call `finish()` at the end of input. The header is
   * parsed from the first bytes; its id must equal the link's and it must not announce more
   * than `maxSize`. `keys` come from deriveKeys, or `keysFor(header)` derives them once the
   * blob's own header is known (keys from a different peek header simply fail to decrypt).
   * Input is copied into the reader's own buffers: a caller may reuse its buffer (a BYOB
   * stream read) as soon as `push` returns. Output pieces are views of fresh buffers: a push
   * of suite 2 gives at most one, all the body it completed, copied once out of libsodium's
   * memory (whose buffers are wiped by free()).
   */
  class Opener {
    constructor({ id, keys, maxSize = Infinity, onMeta = null }) {
      this.id = id;
      this.keys = keys;
      this.maxSize = maxSize;
      this.onMeta = onMeta;
      this.header = null;
      this.meta = null;
      this.headerBytes = new Uint8Array(HEADER_LENGTH_KDF + 256);
      this.buffer = null; // suite 1: the whole ciphertext (suite 2 assembles in libsodium's memory)
      this.filled = 0;
      this.position = 0; // plaintext bytes authenticated so far
      this.chunk = 0;
      this.puller = null;
      this.done = false;
      this.received = 0;
    }

    push(bytes) {
      try {
        return this.take(bytes);
      } catch (error) {
        this.end(); // a failed reader is done: its libsodium buffers are wiped and freed
        throw error;
      }
    }

    take(bytes) {
      if (this.done && bytes.length) fail("DecryptionFailed", "bytes after the end of the secret");
      this.received += bytes.length;
      const out = [];
      let offset = 0;
      if (this.header === null) {
        offset = this.readHeader(bytes);
        if (this.header === null) return out;
      }
      if (this.header.suite === SUITE_SEALED) {
        if (this.received > this.expected) fail("DecryptionFailed", "the secret is too long");
        this.buffer.set(bytes.subarray(offset), this.filled);
        this.filled += bytes.length - offset;
        return out;
      }
      const sizes = chunkSizes(this.header);
      // The body this push can complete: at most one chunk more than fit in the input.
      const input = this.filled + bytes.length - offset;
      const most = CHUNK_SIZE * (Math.floor(input / sizes.full) + 1);
      let plain = null;
      let length = 0;
      while (offset < bytes.length) {
        if (this.done) fail("DecryptionFailed", "bytes after the end of the secret");
        const last = this.chunk === sizes.count - 1;
        const size = last ? sizes.last : sizes.full;
        const take = Math.min(size - this.filled, bytes.length - offset);
        this.puller.fill(bytes.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        if (this.filled < size) break;
        this.filled = 0;
        const result = this.puller.pull(size);
        if (!result) fail("DecryptionFailed", "a chunk failed authentication");
        if (result.tag !== (last ? TAG_FINAL : TAG_MESSAGE)) {
          fail("DecryptionFailed", "a misplaced or missing final tag");
        }
        this.chunk += 1;
        const body = this.release(result.message);
        if (body.length) {
          plain = plain || new Uint8Array(Math.min(most, this.meta.bodyLength));
          plain.set(body, length);
          length += body.length;
        }
        if (last) this.end(); // after the copy: end() wipes libsodium's buffers
      }
      if (length) out.push(plain.subarray(0, length));
      return out;
    }

    /** Take header bytes from `bytes`; returns how many were used. */
    readHeader(bytes) {
      const room = this.headerBytes.length - this.filled;
      const take = Math.min(room, bytes.length);
      this.headerBytes.set(bytes.subarray(0, take), this.filled);
      const have = this.filled + take;
      // Fewer bytes than a header is not yet an error while more may come.
      const header = parseHeader(this.headerBytes.subarray(0, have), { partial: true });
      if (header === null) {
        this.filled = have;
        return take;
      }
      if (!equalBytes(header.id, this.id)) fail("DecryptionFailed", "the secret's id is not the link's");
      this.expected = blobLength(header);
      if (this.expected > this.maxSize) fail("FormatError", "the secret is larger than accepted");
      this.header = header;
      if (typeof this.keys === "function") this.keys = this.keys(header);
      const sizes = chunkSizes(header);
      if (header.suite === SUITE_STREAM) {
        this.puller = new Puller(header, this.keys.payloadKey);
      } else {
        this.buffer = new Uint8Array(sizes[0]);
      }
      // The header bytes past its end (read ahead into headerBytes) are the first ciphertext.
      const extra = this.headerBytes.subarray(header.length, have);
      this.filled = 0;
      return take - extra.length;
    }

    end() {
      this.done = true;
      if (this.puller) this.puller.free();
      this.puller = null;
    }

    /** Authenticated plaintext -> the body bytes it holds; checks the envelope and padding. */
    release(plain) {
      const start = this.position;
      this.position += plain.length;
      if (this.meta === null) {
        this.meta = parseEnvelope(plain, this.header.paddedLength);
        if (this.onMeta) this.onMeta(this.meta);
      }
      const bodyStart = this.meta.length;
      const bodyEnd = bodyStart + this.meta.bodyLength;
      const from = Math.max(bodyStart, start) - start;
      const to = Math.min(bodyEnd, this.position) - start;
      const tail = plain.subarray(Math.max(bodyEnd - start, 0));
      if (!tail.every((b) => b === 0)) fail("FormatError", "the padding is not zero");
      // A view: of libsodium's memory for suite 2 (take() copies it out), else of a fresh buffer.
      return from < to ? plain.subarray(from, to) : new Uint8Array(0);
    }

    /** End of input: the last body piece (suite 1), or an error if the stream is incomplete. */
    finish() {
      if (this.header === null) {
        parseHeader(this.headerBytes.subarray(0, this.filled)); // the precise header error
        fail("DecryptionFailed", "the secret is truncated");
      }
      if (this.header.suite === SUITE_SEALED) {
        if (this.done) return [];
        if (this.filled !== this.buffer.length) fail("DecryptionFailed", "the secret has the wrong length");
        let plain;
        try {
          plain = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(
            null, this.buffer, this.header.bytes, this.header.nonce, this.keys.payloadKey
          );
        } catch (error) {
          fail("DecryptionFailed", "the secret failed authentication");
        }
        this.buffer = null;
        this.done = true;
        const body = this.release(plain);
        return body.length ? [body] : [];
      }
      if (!this.done) {
        this.end();
        fail("DecryptionFailed", "the secret is truncated");
      }
      return [];
    }
  }

  // --- untrusted text ----------------------------------------------------------------------

  // The CLI's rule, ots_cli/core/invisible.py: a character is hidden when its category is Cc, Cf,
  // Co, Cs, Cn, Zl or Zp, or it is a Default_Ignorable_Code_Point (variation selectors, the
  // combining grapheme joiner, Hangul fillers: drawn as nothing, they can carry hidden text).
  const HIDDEN =
    /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

  const isHidden = (char) => HIDDEN.test(char);

  /** Text as the CLI prints it to a terminal: hidden characters escaped; newline and tab kept. */
  function visible(text) {
    let out = "";
    let escaped = 0;
    for (const char of text) {
      if (char === "\n" || char === "\t" || !isHidden(char)) {
        out += char;
        continue;
      }
      escaped += 1;
      const code = char.codePointAt(0);
      const hex = code.toString(16);
      out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${hex.padStart(2, "0")}`
        : code > 0xffff ? `\\U${hex.padStart(8, "0")}` : `\\u${hex.padStart(4, "0")}`;
    }
    return { text: out, escaped };
  }

  /** A file name to offer a save dialog: hidden characters dropped, path characters replaced. */
  function safeName(name, fallback) {
    if (!name) return fallback;
    let clean = "";
    for (const char of name) {
      if (isHidden(char)) continue;
      clean += "/\\:*?\"<>|".includes(char) ? "_" : char;
    }
    clean = clean.replace(/^[.\s]+/u, "").trim();
    return clean || fallback;
  }

  // The format's constants, for the writer (ots-writer.js), which shares this module's helpers.
  const SPEC = Object.freeze({
    MAGIC, VERSION, SUITE_SEALED, SUITE_STREAM, FLAG_PASSPHRASE, NONCE_BYTES, HEADER_LENGTH,
    HEADER_LENGTH_KDF, SEALED_ABYTES, STREAM_ABYTES, PAD_MAX, SEALED_MAX, TAG_MESSAGE, TAG_FINAL,
    KIND_TEXT, KIND_FILE,
  });

  root.OtsFormat = Object.freeze({
    SPEC,
    validName,
    isHidden,
    visible,
    safeName,
    OtsFormatError,
    KDF,
    CHUNK_SIZE,
    b64urlEncode,
    b64urlDecode,
    paddedLength,
    parseHeader,
    blobLength,
    linkProof,
    checkKdf,
    passphraseBytes,
    deriveKeys,
    parseEnvelope,
    Opener,
    equalBytes,
    concat,
  });
})(globalThis);
