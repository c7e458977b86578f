"""``ots share``: seal a secret locally, upload the ciphertext, print the link.

Invariants:

- The secret comes from a FILE, from stdin when it is not a terminal, or from a hidden prompt;
  never from argv. Its bytes are sealed exactly as read (no newline is stripped or added).
- An empty input is refused before anything is sent (``</dev/null`` or an unset variable is a
  mistake far more often than a secret), unless ``--allow-empty`` says it is meant.
- Only ciphertext, the header length and verifiers reach the server; the key stays in the link,
  which is printed on stdout and nowhere else (never in the receipt, never in a log).
- The link starts with the server's published public URL (``OTS_PUBLIC_URL``, from
  ``GET /limits``, asked before anything is sealed) when that makes a valid link, else with the
  address ots reached the server at; the receipt keeps the address ots reached it at.
- The receipt is saved before the link is printed; failing to save it is a warning, because a
  created secret whose link is lost would be worse.
- With ``--for`` the secret is bound to a CI identity: the canonical binding goes into the
  header (authenticated with the ciphertext) and to the server, which releases the secret only
  to a reveal with a verified ID token of that pipeline (docs/ci.md).
- With ``--wait`` the link is printed (and flushed) first, then :mod:`ots_cli.usecases.wait`
  polls the receipt; every option, ``--timeout`` included, is checked before anything is shared.

Reading the input is :mod:`ots_cli.usecases.secret_input`'s, the rest
:mod:`ots_cli.usecases.sharing`'s (``ots generate --share`` uses it too).
"""

from __future__ import annotations

import typer

from ots_cli.cli.options import (
    AllowEmptyOption,
    AttemptsOption,
    ConfirmOption,
    CopyOption,
    ForOption,
    LabelOption,
    NewPassphraseFileOption,
    PassphraseOption,
    QrOption,
    SecretFileArgument,
    TimeoutOption,
    TtlOption,
    ViewsOption,
    WaitOption,
)
from ots_cli.runtime import Runtime
from ots_cli.usecases.secret_input import LimitCheck, check_not_a_link, read_secret, refuse_empty
from ots_cli.usecases.sharing import ShareOptions, check_options, share_secret, wait_if_asked

__all__ = ["share"]


def share(
    ctx: typer.Context,
    file: SecretFileArgument = None,
    ttl: TtlOption = None,
    views: ViewsOption = None,
    passphrase: PassphraseOption = False,
    passphrase_file: NewPassphraseFileOption = None,
    attempts: AttemptsOption = None,
    confirm: ConfirmOption = False,
    allow_empty: AllowEmptyOption = False,
    copy: CopyOption = False,
    qr: QrOption = False,
    label: LabelOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    for_: ForOption = None,
) -> None:
    """Encrypt a secret locally and print a one-time link to it."""
    rt: Runtime = ctx.obj
    options = ShareOptions(
        ttl, views, passphrase, passphrase_file, attempts, copy, qr, label, wait, timeout, for_
    )
    check_options(options)
    check = LimitCheck(rt.api)
    with read_secret(rt, file, check, confirm=confirm) as (payload, prompted):
        refuse_empty(payload, allow_empty=allow_empty)
        if payload.data is not None:
            check_not_a_link(rt, payload.data, prompted=prompted)
        shared = share_secret(rt, payload, options, limits=check.limits)
    wait_if_asked(rt, shared, options)
