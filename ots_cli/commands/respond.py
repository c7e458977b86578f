"""``ots respond LINK [FILE]``: answer a request with a secret only its requester can open.

Invariants:

- The secret is read exactly as ``ots share`` reads it (:mod:`ots_cli.usecases.secret_input`: FILE,
  stdin or a hidden prompt; never argv; the same size and empty-input rules).
- The request is peeked first (:mod:`ots_cli.usecases.answering`): answered already is exit 6, over
  exit 7, unknown exit 5, and then nothing is read or sent.
- Nothing is printed on stdout but the ``--json`` document: the responder gets no link and
  keeps no receipt and no key.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ots_cli.cli.options import AllowEmptyOption, ConfirmOption, SecretFileArgument
from ots_cli.runtime import Runtime

__all__ = ["respond"]


def respond(
    ctx: typer.Context,
    link_text: Annotated[
        str,
        typer.Argument(
            metavar="LINK",
            help="The request link (https://HOST/r/ID#KEY, or ID#KEY on the configured server).",
        ),
    ],
    file: SecretFileArgument = None,
    confirm: ConfirmOption = False,
    allow_empty: AllowEmptyOption = False,
) -> None:
    """Answer a request with a secret: encrypted here, only the requester can open it."""
    from ots_cli.core.request_links import parse_request_link
    from ots_cli.usecases import answering
    from ots_cli.usecases.secret_input import (
        LimitCheck,
        check_not_a_link,
        read_secret,
        refuse_empty,
    )

    rt: Runtime = ctx.obj
    link = parse_request_link(link_text, allow_insecure_http=rt.options.insecure)
    api = rt.api(link.server)
    peeked = answering.peek(rt, api, link)
    check = LimitCheck(lambda: api)
    with read_secret(rt, file, check, confirm=confirm) as (payload, prompted):
        refuse_empty(payload, allow_empty=allow_empty)
        if payload.data is not None:
            check_not_a_link(rt, payload.data, prompted=prompted)
        posted = answering.answer(rt, api, link, peeked, payload, limits=check.limits)
    if rt.options.json:
        rt.output.json({"request": posted.id, "answered_at": posted.answered_at})
    else:
        rt.output.note("answered: only the requester can open the secret")
