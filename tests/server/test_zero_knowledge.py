"""Zero knowledge, checked on the bytes: canary secrets sealed by the real client core go
through a real server; afterwards no plaintext, key, passphrase or proof is anywhere in the
SQLite file, its WAL or shared memory, or the server's output; ids, receipts and the client's
address are not in the output; and once a secret is revealed and the WAL checkpointed (by the
server's own background task), its ciphertext is gone from the database files too."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import nacl.pwhash.argon2id
import pytest
from processes import running_server

from ots_cli.core.crypto import seal
from ots_server.codec import b64encode

from .support import SimSecret, create

FORWARDED_FOR = "203.0.113.77"


@dataclass(frozen=True)
class Canary:
    """A secret sealed by the real core; everything the server must never hold or log."""

    sim: SimSecret
    plaintext: bytes
    key: bytes
    payload_key: bytes
    passphrase: str | None

    @classmethod
    def make(cls, number: int, *, passphrase: bool) -> Canary:
        plaintext = (f"ots-canary-{number}-".encode() + os.urandom(8).hex().encode()) * 40
        id, key = os.urandom(16), os.urandom(32)
        chosen = f"canary passphrase {os.urandom(6).hex()}" if passphrase else None
        sealed = seal(
            plaintext,
            id=id,
            key=key,
            passphrase=chosen,
            opslimit=nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
            memlimit=nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
        )
        sim = SimSecret(
            id=id,
            proof=sealed.keys.link_proof,
            blob=sealed.blob,
            header_length=len(sealed.header_bytes),
            passphrase_proof=sealed.keys.passphrase_proof,
        )
        return cls(sim, plaintext, key, sealed.keys.payload_key, chosen)

    def never_anywhere(self) -> list[bytes]:
        raw = [self.plaintext[:40], self.key, self.payload_key, self.sim.proof]
        if self.sim.passphrase_proof is not None:
            raw.append(self.sim.passphrase_proof)
        forms = [form for value in raw for form in _encodings(value)]
        if self.passphrase is not None:
            forms.append(self.passphrase.encode())
        return forms

    def ciphertext_sample(self) -> bytes:
        """64 bytes from the middle of the ciphertext, past the public header."""
        middle = len(self.sim.blob) // 2
        return self.sim.blob[middle : middle + 64]


def _encodings(value: bytes) -> list[bytes]:
    return [value, b64encode(value).encode(), base64.b64encode(value), value.hex().encode()]


def _database_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


@pytest.mark.slow
def test_store_and_output_hold_nothing_that_decrypts(tmp_path: Path) -> None:
    canaries = [Canary.make(n, passphrase=n % 2 == 1) for n in range(6)]
    revealed, kept = canaries[:4], canaries[4:]
    env = {
        "OTS_CHECKPOINT_INTERVAL": "1s",
        "OTS_TRUSTED_PROXIES": "127.0.0.1",
        "OTS_LOG_LEVEL": "debug",
    }
    receipts: list[str] = []
    with running_server(tmp_path, env=env) as server:
        headers = {"X-Forwarded-For": FORWARDED_FOR}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
            for canary in canaries:
                sim = canary.sim
                created = create(client, sim)
                assert created.status_code == 201
                receipts.append(created.json()["receipt"])
                peek = client.post(f"/api/v1/secrets/{sim.sid}/peek", json=sim.proof_body())
                assert peek.json()["passphrase"] is (canary.passphrase is not None)
            for canary in revealed:
                sim = canary.sim
                if sim.passphrase_proof is not None:
                    wrong = sim.reveal_body(passphrase_proof=os.urandom(32))
                    client.post(f"/api/v1/secrets/{sim.sid}/reveal", json=wrong)
                answer = client.post(f"/api/v1/secrets/{sim.sid}/reveal", json=sim.reveal_body())
                assert answer.content == sim.blob
            for receipt in receipts:
                client.post("/api/v1/receipts/status", json={"receipt": receipt})

        # The server checkpoints every second; wait for it (polling, bounded) rather than
        # forcing a checkpoint from outside.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            files = _database_bytes(server.db_path)
            if not any(canary.ciphertext_sample() in files for canary in revealed):
                break
            time.sleep(0.1)
        files = _database_bytes(server.db_path)
        output = server.output().encode()

    assert os.path.getsize(f"{server.db_path}-wal") == 0  # truncated by the checkpoint
    for canary in revealed:
        assert canary.ciphertext_sample() not in files
    for canary in kept:  # proves the scan finds what is there
        assert canary.ciphertext_sample() in files
        assert canary.sim.link_check in files
    for canary in canaries:
        for form in canary.never_anywhere():
            assert form not in files
            assert form not in output
        for form in (canary.sim.sid.encode(), canary.sim.id, canary.sim.id.hex().encode()):
            assert form not in output
    for receipt in receipts:
        assert receipt[5:].encode() not in output
    assert FORWARDED_FOR.encode() not in output
    assert b'"route":"/api/v1/secrets/{id}/reveal"' in output  # the log was captured
