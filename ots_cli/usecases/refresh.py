"""Refreshing local receipts from their servers, a page of receipts per request (``ots list``).

Invariants:

- Receipts are grouped by server and sent :data:`~ots_cli.api.client.MAX_RECEIPTS_PER_REQUEST`
  to a request (the batch status endpoint), so 250 receipts on one server are three requests
  and one rate-limit token each, never one request per receipt.
- A page that fails (no connection, a rate limit, an answer outside the API) never fails the
  listing: the receipts of that server that were not refreshed keep their last known state,
  marked stale, and the failure is returned once per server, which is not asked again in
  this run (a dead server costs one timeout, not one per page).
- An answer is applied only to the receipt it names: an id that differs from the receipt's
  fails its page like any other answer outside the API.
- A receipt the server does not know any more (never issued, or purged after its grace) is
  reported as ``forgotten``; its local file is left alone (``ots list --prune`` drops it).
"""

from __future__ import annotations

import hmac
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from ots_cli.errors import OtsError, ProtocolError
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.api.client import Api, ReceiptStatus
    from ots_cli.local.receipts import Receipt

__all__ = ["Freshness", "Outcome", "apply", "refresh"]


class Freshness(Enum):
    FRESH = "fresh"
    #: The server answered that it does not know the receipt (purged, or never issued).
    FORGOTTEN = "forgotten"
    #: Not asked (``--cached``), or its page failed: the last known state.
    STALE = "stale"


class Outcome(NamedTuple):
    receipt: Receipt
    freshness: Freshness


class Failure(NamedTuple):
    server: str
    error: OtsError


def apply(rt: Runtime, receipt: Receipt, answer: ReceiptStatus) -> Receipt:
    """``receipt`` with the server's answer, saved (a failed save is a warning: the answer
    is still shown)."""
    updated = receipt.updated(
        state=answer.state,
        views_left=answer.views_left,
        read_at=answer.read_at,
        burned_at=answer.burned_at,
        expires_at=answer.expires_at,
        checked_at=rt.now(),
    )
    try:
        rt.receipts.update(updated)
    except Exception as exc:  # a cache write must not hide the answer
        rt.output.warn(f"the local receipt was not updated: {exc}")
    return updated


def refresh(rt: Runtime, receipts: list[Receipt]) -> tuple[list[Outcome], list[Failure]]:
    """Every receipt's outcome, in the order given, and the failure of each server that
    failed."""
    from ots_cli.api.client import MAX_RECEIPTS_PER_REQUEST

    outcomes: dict[str, Outcome] = {}
    failures: list[Failure] = []
    by_server: dict[str, list[Receipt]] = {}
    for receipt in receipts:
        by_server.setdefault(receipt.server, []).append(receipt)
    for server, group in by_server.items():
        try:
            api = rt.api(server)
            for start in range(0, len(group), MAX_RECEIPTS_PER_REQUEST):
                page = group[start : start + MAX_RECEIPTS_PER_REQUEST]
                outcomes.update(_page(rt, api, page))
        except OtsError as exc:
            failures.append(Failure(server, exc))
    stale = Freshness.STALE
    return [outcomes.get(r.id, Outcome(r, stale)) for r in receipts], failures


def _page(rt: Runtime, api: Api, page: list[Receipt]) -> dict[str, Outcome]:
    answers = api.receipt_statuses([receipt.token for receipt in page])
    for receipt, answer in zip(page, answers, strict=True):
        if answer is not None and not hmac.compare_digest(answer.id.encode(), receipt.id.encode()):
            raise ProtocolError("the server answered for another secret than the receipt's")
    outcomes = {}
    for receipt, answer in zip(page, answers, strict=True):
        if answer is None:
            outcomes[receipt.id] = Outcome(receipt, Freshness.FORGOTTEN)
        else:
            outcomes[receipt.id] = Outcome(apply(rt, receipt, answer), Freshness.FRESH)
    return outcomes
