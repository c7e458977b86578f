"""The sender's view of a secret: its state from a local receipt, a receipt token or a link.

What ``ots status``, ``ots list`` and ``ots burn`` share (and ``ots forget`` resolves a
reference by the same rules). A reference is a link (the key proves the right to peek or burn),
a receipt token (``otsr_…``), or a local receipt named by id, unique id prefix (6+ characters)
or label.

Invariants:

- Nothing here consumes a secret: states come from the receipt endpoints or a peek.
- Local receipts are refreshed from the server and the fresh state is cached in them; receipts
  are asked for in pages (:mod:`ots_cli.usecases.refresh`), and a receipt that could not be
  refreshed keeps its last known state, marked with why.
- Pruning removes local receipts only; it changes no secret.
- Remote states (the account's receipts) get labels, which never leave this machine, from
  local receipts when they exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ots_cli.core.render import describe_state
from ots_cli.errors import NotFound, OtsError, ProtocolError, SecretExpired, SecretGone, Unavailable
from ots_cli.local.receipts import DEFAULT_GRACE
from ots_cli.runtime import Runtime
from ots_cli.usecases.refresh import Freshness, Outcome, apply, refresh

if TYPE_CHECKING:
    from ots_cli.api.client import ReceiptStatus
    from ots_cli.core.links import Link
    from ots_cli.local.receipts import Receipt

__all__ = [
    "CACHED",
    "RECEIPT_PREFIX",
    "SHORT_ID",
    "State",
    "from_receipt",
    "is_link",
    "link_state",
    "prune_receipts",
    "refreshed",
    "refreshed_state",
    "remote_states",
    "resolve",
    "token_state",
]

RECEIPT_PREFIX = "otsr_"
SHORT_ID = 8


class State(NamedTuple):
    """One secret's state as the sender sees it (the ``--json`` shape of status and list)."""

    id: str
    server: str
    label: str | None
    state: str
    created_at: int | None
    expires_at: int | None
    views: int | None
    views_left: int | None
    read_at: int | None
    burned_at: int | None
    source: str
    fresh: bool
    #: Why a state is not fresh, for people (not in ``--json``, where ``fresh`` says it).
    stale: str | None = None

    def json(self) -> dict[str, object]:
        document = self._asdict()
        del document["stale"]
        return document

    def describe(self, now: int) -> str:
        text = describe_state(
            self.state,
            views=self.views or 1,
            views_left=self.views_left,
            read_at=self.read_at,
            burned_at=self.burned_at,
            expires_at=self.expires_at or 0,
            now=now,
        )
        return text if self.fresh else f"{text} ({self.stale or 'last known'})"


#: What marks a state that was not refreshed, by the reason.
CACHED = "last known"
UNANSWERED = "last known; the server did not answer"
NOT_REFRESHED = "last known; not refreshed"
FORGOTTEN = "last known; the server no longer knows it"


def from_receipt(receipt: Receipt, *, fresh: bool, stale: str | None = None) -> State:
    return State(
        id=receipt.id,
        server=receipt.server,
        label=receipt.label,
        state=receipt.state,
        created_at=receipt.created_at,
        expires_at=receipt.expires_at,
        views=receipt.views,
        views_left=receipt.views_left,
        read_at=receipt.read_at,
        burned_at=receipt.burned_at,
        source="receipt",
        fresh=fresh,
        stale=None if fresh else stale,
    )


def is_link(reference: str) -> bool:
    return "#" in reference or "://" in reference


def link_state(rt: Runtime, link: Link) -> State:
    """A state from a peek with the link's proof: for links shared from another machine."""
    from ots_cli.core import crypto

    api = rt.api(link.server)
    state, created_at, expires_at, views_left = "pending", None, None, None
    read_at = burned_at = None
    try:
        peeked = api.peek(link.id, crypto.link_proof(link.id, link.key))
        created_at, expires_at, views_left = peeked.created_at, peeked.expires_at, peeked.views_left
    except SecretGone as exc:
        state, views_left = ("read", 0) if exc.state == "consumed" else ("burned", None)
        read_at, burned_at = (exc.at, None) if state == "read" else (None, exc.at)
    except SecretExpired:
        state = "expired"
    return State(
        id=link.id_text,
        server=api.server,
        label=None,
        state=state,
        created_at=created_at,
        expires_at=expires_at,
        views=None,
        views_left=views_left,
        read_at=read_at,
        burned_at=burned_at,
        source="link",
        fresh=True,
    )


def resolve(rt: Runtime, reference: str | None) -> tuple[Receipt | None, Link | None, str | None]:
    """(local receipt, link, bare receipt token): what the reference names."""
    from ots_cli.usecases.fetch import load_link

    if reference is None:
        receipts = rt.receipts.all()
        if not receipts:
            raise NotFound(
                "there are no local receipts",
                hints=("receipts are saved by `ots share`; or pass a link",),
            )
        return receipts[0], None, None
    if reference.startswith(RECEIPT_PREFIX):
        return None, None, reference
    if is_link(reference):
        link = load_link(rt, reference)
        return rt.receipts.get(link.id_text), link, None
    return rt.receipts.find(reference), None, None


def refreshed_state(rt: Runtime, receipt: Receipt) -> State:
    answer = rt.api(receipt.server).receipt_status(receipt.token)
    return from_receipt(apply(rt, receipt, answer), fresh=True)


def token_state(rt: Runtime, token: str, answer: ReceiptStatus, server: str) -> State:
    local = rt.receipts.get(answer.id)
    if local is not None:
        return from_receipt(apply(rt, local, answer), fresh=True)
    return from_answer(answer, server, label=None, source="receipt")


def from_answer(answer: ReceiptStatus, server: str, *, label: str | None, source: str) -> State:
    """A fresh state straight from the server's receipt answer."""
    return State(
        id=answer.id,
        server=server,
        label=label,
        state=answer.state,
        created_at=answer.created_at,
        expires_at=answer.expires_at,
        views=answer.views,
        views_left=answer.views_left,
        read_at=answer.read_at,
        burned_at=answer.burned_at,
        source=source,
        fresh=True,
    )


def refreshed(rt: Runtime, receipts: list[Receipt]) -> list[tuple[Receipt, Freshness, str]]:
    """Each receipt refreshed in pages, with why it is not fresh; one warning per server
    that failed."""
    outcomes, failures = refresh(rt, receipts)
    why = {failure.server: _stale_reason(failure.error) for failure in failures}
    for failure in failures:
        rt.output.warn(f"{failure.error.message}; showing the last known states")
        for hint in failure.error.hints:
            rt.output.note(hint)

    def reason(outcome: Outcome) -> str:
        if outcome.freshness is Freshness.FORGOTTEN:
            return FORGOTTEN
        return why.get(outcome.receipt.server, "")  # "" for a fresh state: not shown

    return [(o.receipt, o.freshness, reason(o)) for o in outcomes]


def _stale_reason(error: OtsError) -> str:
    unanswered = isinstance(error, Unavailable) and not isinstance(error, ProtocolError)
    return UNANSWERED if unanswered else NOT_REFRESHED


def prune_receipts(
    rt: Runtime, outcomes: list[tuple[Receipt, Freshness, str]]
) -> list[tuple[Receipt, Freshness, str]]:
    """Remove the receipts of secrets that are over and past their grace: the server said it
    no longer knows them, or (not asked, or it did not answer) they expired more than the
    server's default receipt grace ago. A fresh answer means the server still keeps it."""
    now = rt.now()
    kept, dropped = [], 0
    for receipt, freshness, why in outcomes:
        over = freshness is Freshness.FORGOTTEN or (
            freshness is Freshness.STALE and now >= receipt.expires_at + DEFAULT_GRACE
        )
        if not over:
            kept.append((receipt, freshness, why))
            continue
        try:
            rt.receipts.remove(receipt.id)
        except OtsError as exc:
            rt.output.warn(f"{exc.message}; it is still listed")
            kept.append((receipt, freshness, why))
            continue
        dropped += 1
    rt.output.note(
        f"dropped {dropped} receipt{'' if dropped == 1 else 's'} of secrets that are over"
    )
    return kept


def remote_states(rt: Runtime) -> list[State]:
    from ots_cli.local.tokens import not_logged_in

    api = rt.api()
    if api.credential() is None:
        raise not_logged_in(api.server)
    states = []
    for answer in api.account_receipts():
        local = rt.receipts.get(answer.id)
        label = local.label if local is not None and local.server == api.server else None
        states.append(from_answer(answer, api.server, label=label, source="account"))
    return states
