"""``ots status``, ``ots list`` and ``ots burn``: the sender's view of what happened to a secret.

A reference is a link (the key proves the right to peek or burn), a receipt token (``otsr_…``),
or a local receipt named by id, unique id prefix (6+ characters) or label.

Invariants:

- Status never consumes anything: it uses the receipt endpoints or a peek.
- A state the secret is in (read, burned, expired) is reported as data with exit 0 by
  ``status`` and ``list``; ``burn`` fails with 6 or 7 when it came too late.
- Local receipts are refreshed from the server and the fresh state is cached in them;
  ``list`` asks in pages (:mod:`ots_cli.usecases.tracking`) and always prints what it knows:
  a receipt it could not refresh shows its last known state, marked, and ``list`` exits 0.
- ``list --prune`` removes local receipts only (as ``ots forget`` does); it changes no secret.
- ``list --remote`` asks the server for the account's receipts (any machine's); labels, which
  never leave this machine, are added from local receipts when they exist.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ots_cli.errors import SecretExpired, SecretGone, UsageError
from ots_cli.runtime import Runtime
from ots_cli.terminal.output import visible
from ots_cli.usecases.refresh import Freshness, apply
from ots_cli.usecases.tracking import (
    CACHED,
    SHORT_ID,
    State,
    from_receipt,
    link_state,
    prune_receipts,
    refreshed,
    refreshed_state,
    remote_states,
    resolve,
    token_state,
)

__all__ = ["burn", "list_receipts", "status"]


ReferenceArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[LINK|RECEIPT]",
        help="A link, a receipt token (otsr_…), or a local receipt's id, id prefix or label. "
        "Default: the most recent local receipt.",
        show_default=False,
    ),
]


def status(ctx: typer.Context, reference: ReferenceArgument = None) -> None:
    """Show what happened to a secret you shared: pending, read, burned or expired."""
    rt: Runtime = ctx.obj
    receipt, link, token = resolve(rt, reference)
    if token is not None:
        api = rt.api()
        state = token_state(rt, token, api.receipt_status(token), api.server)
    elif receipt is not None:
        state = refreshed_state(rt, receipt)
    else:
        assert link is not None
        state = link_state(rt, link)
    _print_states(rt, [state], single=True)


def list_receipts(
    ctx: typer.Context,
    cached: Annotated[
        bool, typer.Option("--cached", help="Show the last known states; no network.")
    ] = False,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="List the account's secrets as the server knows them (from any machine; "
            "needs `ots login`).",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Drop the local receipts of secrets that are over and whose server has "
            "forgotten them (or, unasked, expired over 7 days ago).",
        ),
    ] = False,
) -> None:
    """List the secrets you shared from this machine, with their current state."""
    rt: Runtime = ctx.obj
    if remote:
        if cached or prune:
            raise UsageError(f"give --{'cached' if cached else 'prune'} or --remote, not both")
        _print_states(rt, remote_states(rt), single=False)
        return
    receipts = rt.receipts.all()
    if cached:
        outcomes = [(receipt, Freshness.STALE, CACHED) for receipt in receipts]
    else:
        outcomes = refreshed(rt, receipts)
    if prune:
        outcomes = prune_receipts(rt, outcomes)
    states = [
        from_receipt(receipt, fresh=freshness is Freshness.FRESH, stale=why)
        for receipt, freshness, why in outcomes
    ]
    _print_states(rt, states, single=False)


def _print_states(rt: Runtime, states: list[State], *, single: bool) -> None:
    if rt.options.json:
        if single:
            rt.output.json(states[0].json())
        else:
            rt.output.json({"receipts": [state.json() for state in states]})
        return
    now = rt.now()
    if single:
        state = states[0]
        label = f" ({state.label})" if state.label else ""
        rt.output.line(f"{state.id[:SHORT_ID]}{label}: {state.describe(now)}")
        return
    if not states:
        rt.output.note("no receipts yet; `ots share` saves one for every secret")
        return
    labels = [visible(s.label or "-", keep_newlines=False)[0] for s in states]
    width = max(5, *(len(label) for label in labels))
    rt.output.line(f"{'ID'.ljust(SHORT_ID)}  {'LABEL'.ljust(width)}  STATE")
    for state, label in zip(states, labels, strict=True):
        rt.output.line(f"{state.id[:SHORT_ID]}  {label.ljust(width)}  {state.describe(now)}")


def burn(
    ctx: typer.Context,
    reference: Annotated[
        str,
        typer.Argument(
            metavar="LINK|RECEIPT",
            help="A link, a receipt token, or a local receipt's id, id prefix or label.",
        ),
    ],
) -> None:
    """Destroy a secret before it is read."""
    from ots_cli.core import crypto

    rt: Runtime = ctx.obj
    receipt, link, token = resolve(rt, reference)
    if link is not None and receipt is None:
        api = rt.api(link.server)
        at: int | None
        try:
            burned = api.burn(link.id, crypto.link_proof(link.id, link.key))
            state, at = burned.state, burned.at
        except SecretGone as exc:
            if exc.state != "burned":
                raise SecretGone(
                    "too late: the secret was already read",
                    state=exc.state,
                    at=exc.at,
                    hints=("if the recipient did not read it, someone else did",),
                ) from exc
            state, at = "burned", exc.at
        _report_burn(rt, link.id_text, state, at)
        return
    if token is not None:
        api = rt.api()
        final = token_state(rt, token, api.receipt_burn(token), api.server)
    else:
        assert receipt is not None
        answer = rt.api(receipt.server).receipt_burn(receipt.token)
        final = from_receipt(apply(rt, receipt, answer), fresh=True)
    if final.state == "read":
        raise SecretGone(
            "too late: the secret was already read",
            state="consumed",
            at=final.read_at,
            hints=("if the recipient did not read it, someone else did",),
        )
    if final.state == "expired":
        raise SecretExpired("the secret had already expired")
    _report_burn(rt, final.id, "burned", final.burned_at)


def _report_burn(rt: Runtime, id: str, state: str, at: int | None) -> None:
    if rt.options.json:
        rt.output.json({"id": id, "state": state, "at": at})
    else:
        rt.output.note("burned: the link no longer works")
