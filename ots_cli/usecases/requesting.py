"""The requester's side of a request: make it, wait for its answer, receive it, list, cancel.

``ots request`` makes an X25519 key pair, registers the request (its id and the verifiers of
both proofs: :mod:`ots_cli.core.request_crypto`), keeps the private key in a local request file
(:mod:`ots_cli.local.request_files`) and gives the link. Receiving polls the request's status like
``share --wait``
(:func:`ots_cli.usecases.wait.poll`), opens the sealed answer and reveals the secret
it names through the normal path (:mod:`ots_cli.usecases.fetch`), delivered as ``ots get`` delivers
(:mod:`ots_cli.usecases.deliver`).

Invariants:

- The private key is saved before the link is given; if it cannot be saved, the request is
  closed again on the server and nothing is printed. The public key and the label are never
  sent; the server gets the id, the lifetime and two verifiers.
- A request that is over (expired, or closed) loses its local file: nothing can come of it.
  So does one whose answer was delivered, after it is closed on the server.
- A sealed answer that does not open (:class:`~ots_cli.errors.TamperedAnswer`), or that names
  a secret the server does not have (exit 5), deletes nothing and consumes nothing: the
  request and its file stay, and the request can be cancelled.
- The answer's secret is an ordinary one on the request's server; it is revealed with every
  check ``ots get`` makes. One that needs a passphrase (answers never have one) is refused
  before anything is consumed.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import TYPE_CHECKING, NamedTuple

from ots_cli.core import b64
from ots_cli.core.durations import format_duration
from ots_cli.core.request_crypto import answer_proof, new_key_pair, owner_proof, verifier
from ots_cli.errors import (
    Cancelled,
    NotFound,
    OtsError,
    ProtocolError,
    RequestOver,
    TamperedAnswer,
    WaitTimedOut,
)
from ots_cli.local.request_files import PendingRequest
from ots_cli.runtime import Runtime
from ots_cli.usecases import deliver, fetch

if TYPE_CHECKING:
    from ots_cli.api.client import Api
    from ots_cli.api.request_answers import RequestStatus
    from ots_cli.usecases.deliver import Claims, Target

__all__ = ["Listed", "Made", "cancel", "list_requests", "make", "receive"]


class Made(NamedTuple):
    """A request just registered: its local record and the link to send."""

    request: PendingRequest
    link: str


class Listed(NamedTuple):
    """A local request and what its server says: ``state`` is ``open``, ``answered``, or None
    when it is not known (``fresh`` False: the server was not asked or did not answer)."""

    request: PendingRequest
    state: str | None
    answered_at: int | None
    fresh: bool


def make(rt: Runtime, *, ttl: int | None, label: str | None) -> Made:
    """Register a new request on the configured server and keep its private key here."""
    from ots_cli.core.request_links import build_request_link
    from ots_cli.usecases.upload import link_base

    api = rt.api()
    api.credential()  # a keyring or token-file problem shows before anything is made
    base = link_base(rt, api.server, api.limits().public_url)
    pair = new_key_pair()
    id_ = os.urandom(16)
    owner = owner_proof(id_, pair.private_key)
    created = api.create_request(
        id=id_,
        ttl=ttl,
        answer_verifier=verifier(answer_proof(id_, pair.public_key)),
        owner_verifier=verifier(owner),
    )
    if created.id != b64.encode(id_):
        raise ProtocolError("the server acknowledged a different request than the one sent")
    pending = PendingRequest(
        server=api.server,
        id=id_,
        private_key=pair.private_key,
        created_at=created.created_at,
        expires_at=created.expires_at,
        label=label,
    )
    try:
        rt.request_files.save(pending)
    except OtsError as exc:
        # Without its private key nobody could ever open the answer: withdraw the request.
        with suppress(OtsError):  # if not, it expires by itself; nobody has its link
            api.close_request(id_, owner)
        exc.message = f"{exc.message}; the request was withdrawn"
        raise
    return Made(pending, build_request_link(base, id_, pair.public_key))


def receive(
    rt: Runtime, pending: PendingRequest, target: Target, claims: Claims, *, timeout: int | None
) -> None:
    """Wait for the answer, reveal the secret it names and deliver it; then close the request
    and forget its private key."""
    api = rt.api(pending.server)
    proof = owner_proof(pending.id, pending.private_key)
    rt.output.progress("waiting for the answer (Ctrl-C stops waiting)…")
    try:
        status = _wait(rt, api, pending, proof, timeout)
    except RequestOver:
        rt.request_files.remove(pending.id_text)
        raise
    assert status.sealed is not None  # an answered status carries it (request_answers)
    from ots_cli.core.links import Link
    from ots_cli.core.request_crypto import open_answer

    secret_id, secret_key = open_answer(status.sealed, pending.private_key)
    try:
        found = fetch.peek(rt, Link(server=pending.server, id=secret_id, key=secret_key))
    except NotFound as exc:
        raise NotFound(
            "the request's answer names no secret on the server, or a key that does not match",
            hints=(
                "nothing was consumed; the responder's answer cannot be used: "
                f"`ots request cancel {pending.reference}` closes this request",
            ),
        ) from exc
    if found.header.needs_passphrase:
        raise TamperedAnswer(
            "the request's answer names a secret that needs a passphrase, which answers never "
            "have; nothing was consumed",
            hints=(f"`ots request cancel {pending.reference}` closes this request",),
        )
    deliver.check_fits(rt, found, target)
    deliver.deliver(rt, found, None, target, claims)
    _close(rt, api, pending, proof)


def _wait(
    rt: Runtime, api: Api, pending: PendingRequest, proof: bytes, timeout: int | None
) -> RequestStatus:
    from ots_cli.usecases.wait import poll

    def ask() -> RequestStatus:
        status = api.request_status(pending.id, proof)
        if status.id != pending.id_text:
            raise ProtocolError("the server answered for another request")
        return status

    def timed_out() -> WaitTimedOut:
        assert timeout is not None
        return WaitTimedOut(
            f"stopped waiting after {format_duration(timeout)}: no answer yet",
            hints=(f"the request stays open: `ots request wait {pending.reference}` goes on",),
        )

    def cancelled() -> Cancelled:
        return Cancelled(
            "stopped waiting; the request stays open",
            hints=(f"`ots request wait {pending.reference}` goes on waiting",),
        )

    return poll(
        rt,
        ask,
        lambda status: status.state == "answered",
        timeout=timeout,
        timed_out=timed_out,
        cancelled=cancelled,
    )


def _close(rt: Runtime, api: Api, pending: PendingRequest, proof: bytes) -> None:
    """After delivery: close the request (deleting its sealed answer) and forget its key."""
    try:
        api.close_request(pending.id, proof)
    except RequestOver:
        pass  # over already: nothing left on the server
    except OtsError as exc:  # the secret was delivered; this must not hide it
        rt.output.warn(f"the request was not closed on the server: {exc.message}")
    try:
        rt.request_files.remove(pending.id_text)
    except OtsError as exc:
        rt.output.warn(exc.message)


def cancel(rt: Runtime, pending: PendingRequest) -> tuple[str, int | None]:
    """Close the request on its server and delete its file: ``(state, at)``, the state being
    ``closed``, or ``expired``/``closed`` when it was over already."""
    api = rt.api(pending.server)
    at: int | None
    try:
        closed = api.close_request(pending.id, owner_proof(pending.id, pending.private_key))
        state, at = closed.state, closed.at
    except RequestOver as exc:
        state, at = exc.state, exc.at
    rt.request_files.remove(pending.id_text)
    return state, at


def list_requests(rt: Runtime, *, cached: bool) -> tuple[list[Listed], int]:
    """The requests of this machine that are not over, newest first, with their server's
    state unless ``cached``; and how many local files were removed because their request is
    over (expired by the local clock, or expired or closed by its server's word)."""
    files = rt.request_files
    now = rt.now()
    listed: list[Listed] = []
    removed = 0
    failed: set[str] = set()
    for pending in files.all():
        if pending.expires_at <= now:
            removed += files.remove(pending.id_text)
            continue
        if cached or pending.server in failed:
            listed.append(Listed(pending, None, None, fresh=False))
            continue
        try:
            status = rt.api(pending.server).request_status(
                pending.id, owner_proof(pending.id, pending.private_key)
            )
        except RequestOver:
            removed += files.remove(pending.id_text)
            continue
        except NotFound:
            listed.append(Listed(pending, None, None, fresh=True))
            continue
        except OtsError as exc:
            rt.output.warn(f"{exc.message}; showing what is known locally")
            failed.add(pending.server)
            listed.append(Listed(pending, None, None, fresh=False))
            continue
        listed.append(Listed(pending, status.state, status.answered_at, fresh=True))
    return listed, removed
