"""``ots forget``: remove a local receipt, and nothing else.

Invariants:

- No server is asked and no secret changes: a forgotten secret can still be read with its link
  (``ots burn`` destroys one). Only the receipt file goes.
- The reference is resolved like ``status`` resolves it, but only against local receipts: a
  link names the receipt of its id, a receipt token (compared in constant time) the receipt
  holding it, anything else an id, unique id prefix or label. A reference that names no local
  receipt is :class:`~ots_cli.errors.NotFound` (5).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated

import typer

from ots_cli.errors import NotFound
from ots_cli.runtime import Runtime
from ots_cli.terminal.output import visible
from ots_cli.usecases.tracking import RECEIPT_PREFIX, SHORT_ID, is_link

if TYPE_CHECKING:
    from ots_cli.local.receipts import Receipt

__all__ = ["forget"]


def forget(
    ctx: typer.Context,
    reference: Annotated[
        str,
        typer.Argument(
            metavar="LINK|ID",
            help="A link, a receipt token, or a local receipt's id, id prefix or label.",
        ),
    ],
) -> None:
    """Remove a local receipt. The secret itself is not touched; no server is asked."""
    rt: Runtime = ctx.obj
    receipt = _local_receipt(rt, reference)
    rt.receipts.remove(receipt.id)
    if rt.options.json:
        rt.output.json({"id": receipt.id, "server": receipt.server, "label": receipt.label})
        return
    label = f" ({visible(receipt.label, keep_newlines=False)[0]})" if receipt.label else ""
    rt.output.note(
        f"forgot the receipt of {receipt.id[:SHORT_ID]}{label}; nothing changed on the "
        "server (`ots burn` destroys a secret)"
    )


def _local_receipt(rt: Runtime, reference: str) -> Receipt:
    """The local receipt a reference names, without asking any server."""
    if reference.startswith(RECEIPT_PREFIX):
        token = reference.encode()
        for receipt in rt.receipts.all():
            if hmac.compare_digest(receipt.token.encode(), token):
                return receipt
        raise NotFound(
            "no local receipt has that receipt token",
            hints=("`ots list --cached` shows your receipts",),
        )
    if is_link(reference):
        from ots_cli.usecases.fetch import load_link

        linked = rt.receipts.get(load_link(rt, reference).id_text)
        if linked is None:
            raise NotFound(
                "there is no local receipt for this link",
                hints=("`ots list --cached` shows your receipts",),
            )
        return linked
    return rt.receipts.find(reference)
