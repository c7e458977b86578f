/*
 * argon2-worker.js: Argon2id for the reveal page, off the main thread so the page stays
 * responsive and can show its "deriving the key" status. It receives the NFC UTF-8 passphrase
 * (transferred, not copied), the salt and the parameters the page already checked
 * (OtsFormat.checkKdf), answers the 32-byte output once, and is then terminated by the page.
 * It makes no request but loading libsodium.js from the same versioned asset folder.
 */
"use strict";

importScripts("libsodium-sumo.js", "libsodium-wrappers.js");

self.onmessage = async ({ data }) => {
  const { password, salt, opslimit, memlimit } = data;
  try {
    await self.sodium.ready;
    const out = self.sodium.crypto_pwhash(
      32, password, salt, opslimit, memlimit, self.sodium.crypto_pwhash_ALG_ARGON2ID13
    );
    self.postMessage({ ok: out }, [out.buffer]);
  } catch (error) {
    self.postMessage({ error: "argon2id" });
  } finally {
    password.fill(0);
  }
};
