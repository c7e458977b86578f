/*
 * ots-writer.js: the browser's writer of docs/FORMAT.md (ots secret format, version 1), the
 * mirror of the CLI's seal/seal_stream (ots_cli/core/crypto.py, format.py, stream.py).
 *
 * One module, no network, no DOM. It shares the reader's helpers (ots-format.js: base64url,
 * padding, the header parser, the key schedule, the Argon2id bounds and the format's constants)
 * instead of copying them, and adds what only a writer does: the id and key, the envelope, the
 * suite rule, the header bytes, and encryption, suite 1 in one call and suite 2 chunk by chunk.
 *
 * Invariants:
 * - The same inputs (id, key, meta, body, passphrase, KDF cost, random bytes) give the CLI's
 *   bytes: the tests replay every golden vector's random bytes and compare blob for blob.
 *   Random bytes are drawn in the CLI's order: the KDF salt (with a passphrase), then the nonce.
 * - The suite comes from the padded length alone (suite 1 up to 65 536 bytes, else suite 2),
 *   whatever the input's kind or origin, so the server learns nothing the header does not say.
 * - A Blob (a File) is read in slices as the chunks are produced: the plaintext is never held
 *   whole, only the slice being encrypted and the next one, read ahead. Each slice must come back exactly as long as asked, and
 *   the whole body must have been read before the final chunk is encrypted; a file that
 *   changes or vanishes while it is read gives a FormatError, never a complete stream.
 * - The key and the payload key stay in the page: `seal` returns the id and the key to its
 *   caller (who builds the link), and only verifiers for the create request. Plaintext copies
 *   the writer makes (slices, libsodium's buffers) are zeroed once used.
 *
 * Needs ots-format.js and libsodium-wrappers-sumo's `sodium` (ready) on the global object.
 */
"use strict";

(function (root) {
  const F = root.OtsFormat;
  const S = F.SPEC;
  const ID_BYTES = 16;
  const KEY_BYTES = 32;
  const SALT_BYTES = 16;
  const CHUNK = F.CHUNK_SIZE;
  /** The writer's suite rule (FORMAT.md, "Choosing a suite"): one stream chunk or less. */
  const SUITE_1_UP_TO = 65536;
  /** Bytes of a Blob read at once: 16 chunks, so a large file takes few reads. */
  const SLICE_BYTES = 16 * CHUNK;

  const sodium = () => root.sodium;

  function systemRandom(size) {
    return root.crypto.getRandomValues(new Uint8Array(size));
  }

  function draw(random, size) {
    const bytes = random(size);
    if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
      throw new Error("the random source returned the wrong number of bytes");
    }
    return bytes;
  }

  /** A fresh id (16 bytes) and key (32 bytes) for one secret: never reuse either. */
  function newIdAndKey(random = systemRandom) {
    return { id: draw(random, ID_BYTES), key: draw(random, KEY_BYTES) };
  }

  /**
   * `length` characters drawn uniformly from `alphabet` (at most 256 characters) with the
   * browser's CSPRNG: bytes at or above the largest multiple of the alphabet's size are
   * rejected, so no character is likelier than another (no modulo bias).
   */
  function randomString(length, alphabet, random = systemRandom) {
    const limit = 256 - (256 % alphabet.length);
    let out = "";
    while (out.length < length) {
      for (const byte of random(2 * length)) {
        if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
      }
    }
    return out;
  }

  /** Bits of randomness of such a string, rounded down. */
  const entropyBits = (length, alphabet) => Math.floor(length * Math.log2(alphabet.length));

  // --- envelope ----------------------------------------------------------------------------

  function u64(value) {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, Math.floor(value / 2 ** 32));
    view.setUint32(4, value >>> 0);
    return out;
  }

  function u32(value) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    return out;
  }

  /** The envelope bytes for `meta` ({kind, name, mediaType}) and a body of `bodyLength` bytes. */
  function envelope(meta, bodyLength) {
    const kind = meta.kind || "text";
    if (kind !== "text" && kind !== "file") throw new TypeError("kind must be text or file");
    if (!(Number.isSafeInteger(bodyLength) && bodyLength >= 0 && bodyLength <= S.PAD_MAX)) {
      throw new RangeError("body too large for format v1");
    }
    const parts = [Uint8Array.of(kind === "text" ? S.KIND_TEXT : S.KIND_FILE), u64(bodyLength)];
    if (kind === "file") {
      const name = meta.name ? new TextEncoder().encode(meta.name) : new Uint8Array(0);
      if (name.length > 255 || (name.length > 0 && F.validName(name) === null)) {
        throw new TypeError("the file name is not a valid base name of at most 255 bytes");
      }
      parts.push(Uint8Array.of(name.length), name);
    } else if (meta.name) {
      throw new TypeError("a text has no name");
    }
    const media = meta.mediaType || "";
    if (media.length > 255 || ![...media].every((c) => c >= " " && c <= "~")) {
      throw new TypeError("the media type is not printable ASCII of at most 255 bytes");
    }
    parts.push(Uint8Array.of(media.length), Uint8Array.from(media, (c) => c.charCodeAt(0)));
    return F.concat(...parts);
  }

  /**
   * The name to send for a file called `name`: itself when the format takes it, else what a
   * reader's safe-name rule would make of it when the format takes that, else null (no name).
   */
  function sendableName(name) {
    for (const candidate of [name, F.safeName(name, "")]) {
      try {
        if (candidate) {
          envelope({ kind: "file", name: candidate }, 0);
          return candidate;
        }
      } catch (error) {
        // not a valid name: try the next candidate
      }
    }
    return null;
  }

  /** A media type the format takes (printable ASCII, 1-255 bytes), or null. */
  function sendableMediaType(type) {
    return type && type.length <= 255 && /^[\x20-\x7e]+$/.test(type) ? type : null;
  }

  const suiteFor = (paddedLength) => (paddedLength <= SUITE_1_UP_TO ? S.SUITE_SEALED : S.SUITE_STREAM);

  function blobLength(headerLength, paddedLength, suite) {
    if (suite === S.SUITE_SEALED) return headerLength + paddedLength + S.SEALED_ABYTES;
    const count = Math.max(1, Math.ceil(paddedLength / CHUNK));
    return headerLength + paddedLength + S.STREAM_ABYTES * count;
  }

  /** What `seal` would produce for this input, without sealing: {paddedLength, suite, length}. */
  function plan(meta, bodyLength, { passphrase = false } = {}) {
    const paddedLength = F.paddedLength(envelope(meta, bodyLength).length + bodyLength);
    const suite = suiteFor(paddedLength);
    const headerLength = passphrase ? S.HEADER_LENGTH_KDF : S.HEADER_LENGTH;
    return { paddedLength, suite, length: blobLength(headerLength, paddedLength, suite) };
  }

  function encodeHeader({ suite, id, paddedLength, kdf, nonce }) {
    const parts = [
      Uint8Array.from(S.MAGIC),
      Uint8Array.of(S.VERSION, suite, kdf ? S.FLAG_PASSPHRASE : 0),
      id,
      u64(paddedLength),
    ];
    if (kdf) parts.push(u32(kdf.opslimit), u32(kdf.memlimit), kdf.salt);
    parts.push(nonce);
    const bytes = F.concat(...parts);
    F.parseHeader(bytes); // the reader's checks: a writer bug fails here, before any upload
    return bytes;
  }

  // --- reading the body --------------------------------------------------------------------

  /** Reads exactly the bytes asked, in order, from a Uint8Array or a Blob (in slices). */
  class BodyReader {
    constructor(source) {
      this.source = source;
      this.size = source instanceof Uint8Array ? source.length : source.size;
      this.position = 0; // bytes handed out
      this.slice = null;
      this.offset = 0;
      this.retired = []; // slices fully handed out: zeroed at the next call, once used
      this.ahead = null; // the next slice, being read
    }

    /** Pieces (views) totalling exactly `count` bytes; valid until the next call. */
    async read(count) {
      this.wipe();
      if (this.source instanceof Uint8Array) {
        const piece = this.source.subarray(this.position, this.position + count);
        this.position += piece.length;
        if (piece.length !== count) throw changed();
        return [piece];
      }
      const pieces = [];
      let need = count;
      while (need > 0) {
        if (this.slice === null || this.offset === this.slice.length) await this.next();
        const take = Math.min(need, this.slice.length - this.offset);
        pieces.push(this.slice.subarray(this.offset, this.offset + take));
        this.offset += take;
        this.position += take;
        need -= take;
      }
      return pieces;
    }

    wipe() {
      for (const slice of this.retired.splice(0)) slice.fill(0); // used plaintext: zeroed
    }

    async next() {
      if (this.slice) this.retired.push(this.slice);
      const start = this.position;
      if (!this.ahead || this.ahead.start !== start) this.ahead = this.load(start);
      const { bytes, end } = await this.ahead.promise;
      // Read the next slice while this one is encrypted: the disk and the cipher overlap.
      this.ahead = end < this.size ? this.load(end) : null;
      this.slice = bytes;
      this.offset = 0;
    }

    /** One slice from `start`; its length is checked (a short read is a changed file). */
    load(start) {
      const end = Math.min(start + SLICE_BYTES, this.size);
      const promise = (async () => {
        if (start >= end) throw changed();
        let buffer;
        try {
          buffer = await this.source.slice(start, end).arrayBuffer();
        } catch (error) {
          // Chromium: NotReadableError when the file changed or vanished after it was chosen.
          throw changed();
        }
        if (buffer.byteLength !== end - start) throw changed();
        return { bytes: new Uint8Array(buffer), end };
      })();
      promise.catch(() => {}); // a read ahead that is never awaited must not go unhandled
      return { start, promise };
    }

    /** The end of input, confirmed: every byte of the announced length was read. */
    finish() {
      if (this.position !== this.size) throw changed();
      if (this.slice) this.retired.push(this.slice);
      this.slice = null;
      this.ahead = null;
      this.wipe();
    }
  }

  const changed = () =>
    new F.OtsFormatError("FormatError", "the file changed or could not be read while it was encrypted");

  // --- encryption --------------------------------------------------------------------------

  /**
   * libsodium's secretstream push on buffers allocated once in its WebAssembly memory; the
   * plaintext chunk is assembled there directly. The state is set up with init_pull on the
   * stream header the writer drew, which is libsodium's init_push without its own random
   * header (FORMAT.md, "Implementation note (injected randomness)"), as the CLI does.
   */
  class Pusher {
    constructor(nonce, payloadKey, ad) {
      const raw = (this.raw = root.libsodium);
      this.state = sodium().crypto_secretstream_xchacha20poly1305_init_pull(nonce, payloadKey);
      this.message = raw._malloc(CHUNK);
      this.cipher = raw._malloc(CHUNK + S.STREAM_ABYTES);
      this.ad = raw._malloc(ad.length);
      this.adLength = ad.length;
      raw.HEAPU8.set(ad, this.ad);
    }

    fill(bytes, offset) {
      this.raw.HEAPU8.set(bytes, this.message + offset); // re-read: the memory may have grown
    }

    zero(from, to) {
      this.raw.HEAPU8.fill(0, this.message + from, this.message + to);
    }

    /** The ciphertext of the `length` plaintext bytes assembled by fill()/zero(). */
    push(length, final) {
      const raw = this.raw;
      // Lengths are unsigned long long: two 32-bit words (low, high), as the wrappers pass them.
      const rc = raw._crypto_secretstream_xchacha20poly1305_push(
        this.state, this.cipher, 0, this.message, length, 0, this.ad, this.adLength, 0,
        final ? S.TAG_FINAL : S.TAG_MESSAGE
      );
      if (rc !== 0) throw new Error("secretstream push failed");
      return raw.HEAPU8.slice(this.cipher, this.cipher + length + S.STREAM_ABYTES);
    }

    free() {
      const raw = this.raw;
      raw.HEAPU8.fill(0, this.message, this.message + CHUNK);
      raw.HEAPU8.fill(0, this.cipher, this.cipher + CHUNK + S.STREAM_ABYTES);
      for (const address of [this.message, this.cipher, this.ad, this.state]) raw._free(address);
    }
  }

  async function* sealedChunks(source, env, bodyLength, header, headerBytes, payloadKey) {
    yield headerBytes;
    const reader = new BodyReader(source);
    const padded = header.paddedLength;
    if (header.suite === S.SUITE_SEALED) {
      const plaintext = new Uint8Array(padded); // zero padding included
      plaintext.set(env, 0);
      let offset = env.length;
      for (const piece of await reader.read(bodyLength)) {
        plaintext.set(piece, offset);
        offset += piece.length;
      }
      reader.finish();
      const sealed = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, headerBytes, null, header.nonce, payloadKey
      );
      plaintext.fill(0);
      yield sealed;
      return;
    }
    const pusher = new Pusher(header.nonce, payloadKey, headerBytes);
    try {
      const count = Math.max(1, Math.ceil(padded / CHUNK));
      let envelopeLeft = env;
      let bodyLeft = bodyLength;
      for (let index = 0; index < count; index++) {
        const size = Math.min(CHUNK, padded - index * CHUNK);
        let filled = 0;
        if (envelopeLeft.length) {
          const part = envelopeLeft.subarray(0, size);
          pusher.fill(part, 0);
          filled = part.length;
          envelopeLeft = envelopeLeft.subarray(part.length);
        }
        const take = Math.min(size - filled, bodyLeft);
        if (take > 0) {
          for (const piece of await reader.read(take)) {
            pusher.fill(piece, filled);
            filled += piece.length;
          }
          bodyLeft -= take;
        }
        pusher.zero(filled, size);
        const final = index === count - 1;
        if (final) reader.finish(); // the whole body read, before the final tag
        yield pusher.push(size, final);
      }
    } finally {
      pusher.free();
    }
  }

  /** Argon2id in this thread (tests, vectors); a page passes a Worker instead. */
  async function argon2InPage(password, salt, opslimit, memlimit) {
    const s = sodium();
    return s.crypto_pwhash(32, password, salt, opslimit, memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
  }

  /**
   * Seal `source` (a Uint8Array or a Blob) as one secret. Resolves, once the keys are derived
   * (Argon2id first, with a passphrase), to:
   *   {id, key, header, headerBytes, length, linkVerifier, passphraseVerifier, chunks()}
   * where `chunks()` is an async iterator of the blob's bytes (the header, then the ciphertext
   * chunk by chunk, `length` bytes in all), to be iterated once. Options: `meta` ({kind, name,
   * mediaType}, default a text), `passphrase` (a non-empty string or null), `opslimit` and
   * `memlimit` (default the writer's cost), `id` and `key` (default fresh), `random(n)`,
   * `argon2(password, salt, opslimit, memlimit)` (async), and `suite` (default: the rule).
   */
  async function seal(source, options = {}) {
    const random = options.random || systemRandom;
    const { id, key } = options.id ? options : newIdAndKey(random);
    if (!(id instanceof Uint8Array && id.length === ID_BYTES && key instanceof Uint8Array &&
          key.length === KEY_BYTES)) {
      throw new TypeError("a secret needs a 16-byte id and a 32-byte key");
    }
    const passphrase = options.passphrase ?? null;
    if (passphrase === "") throw new TypeError("an empty passphrase is no passphrase; pass null");
    const meta = options.meta || { kind: "text" };
    const bodyLength = source instanceof Uint8Array ? source.length : source.size;
    const env = envelope(meta, bodyLength);
    const paddedLength = F.paddedLength(env.length + bodyLength);
    const suite = options.suite ?? suiteFor(paddedLength);
    if (suite === S.SUITE_SEALED && paddedLength > S.SEALED_MAX) {
      throw new RangeError("suite 1 is for secrets of at most 128 MiB; use suite 2");
    }
    let kdf = null;
    if (passphrase !== null) {
      const opslimit = options.opslimit ?? F.KDF.defaultOps;
      const memlimit = options.memlimit ?? F.KDF.defaultMem;
      kdf = { opslimit, memlimit, salt: draw(random, SALT_BYTES) };
      F.checkKdf(kdf, { allowWeakKdf: true }); // the format's bounds (a writer may go lower)
    }
    const nonce = draw(random, S.NONCE_BYTES);
    const headerBytes = encodeHeader({ suite, id, paddedLength, kdf, nonce });
    const header = F.parseHeader(headerBytes);
    let stretched = null;
    if (kdf) {
      const argon2 = options.argon2 || argon2InPage;
      stretched = await argon2(F.passphraseBytes(passphrase), kdf.salt, kdf.opslimit, kdf.memlimit);
    }
    const keys = F.deriveKeys(header, key, stretched);
    if (stretched) stretched.fill(0);
    let started = false;
    return {
      id,
      key,
      header,
      headerBytes,
      length: blobLength(headerBytes.length, paddedLength, suite),
      linkVerifier: keys.linkVerifier,
      passphraseVerifier: keys.passphraseVerifier,
      chunks() {
        if (started) throw new Error("a sealed secret's chunks can be read once");
        started = true;
        return sealedChunks(source, env, bodyLength, header, headerBytes, keys.payloadKey);
      },
    };
  }

  root.OtsWriter = Object.freeze({
    SUITE_1_UP_TO,
    newIdAndKey,
    randomString,
    entropyBits,
    envelope,
    sendableName,
    sendableMediaType,
    suiteFor,
    blobLength,
    plan,
    seal,
  });
})(globalThis);
