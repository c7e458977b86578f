"""The responder's side of a request (``ots respond``): look at it, answer it once.

Answering creates an ordinary v1 secret on the request's server (fresh id and key, one view,
no passphrase, the request's remaining lifetime as its TTL, clamped to the server's range),
then posts ``crypto_box_seal(id || key, public key)`` as the request's one answer
(docs/FORMAT.md, "Requests").

Invariants:

- The request is peeked before the secret is read: one that is answered already (exit 6),
  over (7) or unknown (5) costs the responder nothing.
- The responder keeps nothing: no receipt, no key; it learns nothing back but the time of the
  answer.
- An answer the server refuses (answered meanwhile, over, unknown) leaves no secret behind:
  the one just created is burned (best effort). A network failure does not burn it: the
  answer may have been stored.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from ots_cli.core.request_crypto import answer_proof, seal_answer
from ots_cli.errors import NotFound, OtsError, ProtocolError, RequestAnswered, RequestOver
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Limits
    from ots_cli.api.request_answers import AnswerPosted, RequestPeeked
    from ots_cli.core.request_links import RequestLink
    from ots_cli.local.inputs import Payload

__all__ = ["answer", "answer_ttl", "peek"]


def peek(rt: Runtime, api: Api, link: RequestLink) -> RequestPeeked:
    """The request's state; an answered one is :class:`RequestAnswered` (exit 6)."""
    peeked = api.peek_request(link.id, answer_proof(link.id, link.public_key))
    if peeked.id != link.id_text:
        raise ProtocolError("the server answered for another request")
    if peeked.state == "answered":
        raise RequestAnswered(
            "the request was already answered",
            at=peeked.answered_at,
            hints=("a request takes one answer; if it was not yours, tell the requester",),
        )
    return peeked


def answer_ttl(expires_at: int, now: int, limits: Limits) -> int:
    """The answer's lifetime: what is left of the request's, within the server's range."""
    return min(max(expires_at - now, limits.ttl_min), limits.ttl_max)


def answer(
    rt: Runtime,
    api: Api,
    link: RequestLink,
    peeked: RequestPeeked,
    payload: Payload,
    *,
    limits: Limits | None,
) -> AnswerPosted:
    """Store ``payload`` as a secret and post its sealed id and key as the answer."""
    from ots_cli.core.keyschedule import DEFAULT_MEMLIMIT, DEFAULT_OPSLIMIT
    from ots_cli.usecases.upload import upload

    if limits is None:
        limits = api.limits()
    uploaded = upload(
        rt,
        api,
        payload,
        ttl=answer_ttl(peeked.expires_at, rt.now(), limits),
        views=1,
        passphrase=None,
        attempts=None,
        cost=(DEFAULT_OPSLIMIT, DEFAULT_MEMLIMIT),
        limits=limits,
    )
    sealed = seal_answer(uploaded.id, uploaded.key, link.public_key)
    try:
        posted = api.answer_request(link.id, answer_proof(link.id, link.public_key), sealed)
    except (RequestAnswered, RequestOver, NotFound):
        _burn(api, uploaded.id, uploaded.key)
        raise
    if posted.id != link.id_text:
        raise ProtocolError("the server acknowledged an answer to another request")
    return posted


def _burn(api: Api, id: bytes, key: bytes) -> None:
    """The secret no answer points to: nobody could read it, so it goes now."""
    from ots_cli.core.keyschedule import link_proof

    with suppress(OtsError):  # if not, it expires with the request anyway
        api.burn(id, link_proof(id, key))
