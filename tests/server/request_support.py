"""A simulated requester for the request tests: random id and proofs (the server derives
nothing from them, so random bytes are a faithful stand-in for the HKDF outputs of
REQUESTS-SPEC), verifiers as SHA-256 of the proofs, random 96-byte "sealed" answers (the
server never opens them), and the JSON bodies of docs/API.md "Requests"."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from ots_server.store import NewRequest

from .support import b64, sha256


def sealed_answer() -> bytes:
    return os.urandom(96)


@dataclass(frozen=True)
class SimRequest:
    id: bytes
    answer_proof: bytes
    owner_proof: bytes

    @classmethod
    def make(cls) -> SimRequest:
        return cls(os.urandom(16), os.urandom(32), os.urandom(32))

    @property
    def rid(self) -> str:
        return b64(self.id)

    @property
    def answer_check(self) -> bytes:
        return sha256(self.answer_proof)

    @property
    def owner_check(self) -> bytes:
        return sha256(self.owner_proof)

    def new_request(self, now: int, *, ttl: int = 3600, grace: int = 600) -> NewRequest:
        return NewRequest(
            id=self.id,
            answer_verifier=self.answer_check,
            owner_verifier=self.owner_check,
            created_at=now,
            expires_at=now + ttl,
            keep_until=now + ttl + grace,
        )

    def create_body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.rid,
            "answer_verifier": b64(self.answer_check),
            "owner_verifier": b64(self.owner_check),
        }
        body.update(overrides)
        return {key: value for key, value in body.items() if value is not ...}

    def answer_body(self, sealed: bytes, proof: bytes | None = None) -> dict[str, str]:
        return {"proof": b64(self.answer_proof if proof is None else proof), "sealed": b64(sealed)}

    def answer_proof_body(self) -> dict[str, str]:
        return {"proof": b64(self.answer_proof)}

    def owner_body(self) -> dict[str, str]:
        return {"proof": b64(self.owner_proof)}


def create_request(client: httpx.Client, request: SimRequest, **body: Any) -> httpx.Response:
    return client.post("/api/v1/requests", json=request.create_body(**body))


def request_post(
    client: httpx.Client, request: SimRequest, action: str, body: Any
) -> httpx.Response:
    return client.post(f"/api/v1/requests/{request.rid}/{action}", json=body)
