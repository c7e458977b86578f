"""``ots generate``: a strong random value from the system CSPRNG, printed or shared directly.

Invariants: values come from :func:`secrets.choice` over a fixed alphabet; with ``--share`` the
value is sealed like any secret and never printed, logged or sent unencrypted. ``--share``
takes share's own option declarations (:mod:`ots_cli.cli.options`) and use case
(:mod:`ots_cli.usecases.sharing`: :func:`share_secret`, then :func:`wait_if_asked`), every one of
share's options but those about reading an input.
"""

from __future__ import annotations

import math
import string
from typing import Annotated

import typer

from ots_cli.cli.options import (
    AttemptsOption,
    CopyOption,
    ForOption,
    LabelOption,
    NewPassphraseFileOption,
    PassphraseOption,
    QrOption,
    TimeoutOption,
    TtlOption,
    ViewsOption,
    WaitOption,
)
from ots_cli.core.envelope import Meta
from ots_cli.errors import UsageError
from ots_cli.local.inputs import Payload
from ots_cli.runtime import Runtime
from ots_cli.usecases.sharing import ShareOptions, check_options, share_secret, wait_if_asked

__all__ = ["CHARSETS", "generate"]

CHARSETS: dict[str, str] = {
    "alnum": string.ascii_letters + string.digits,
    "ascii": "".join(chr(c) for c in range(0x21, 0x7F)),
    "hex": "0123456789abcdef",
    "digits": string.digits,
    "lower": string.ascii_lowercase + string.digits,
}


def generate(
    ctx: typer.Context,
    length: Annotated[
        int, typer.Option("--length", "-n", metavar="N", help="Number of characters.")
    ] = 24,
    charset: Annotated[
        str,
        typer.Option(
            "--charset",
            metavar="NAME",
            help="alnum (A-Z a-z 0-9), ascii (printable, no space), hex, digits, lower (a-z 0-9).",
        ),
    ] = "alnum",
    share_it: Annotated[
        bool,
        typer.Option(
            "--share",
            help="Share the value instead of printing it (the share options below apply).",
        ),
    ] = False,
    ttl: TtlOption = None,
    views: ViewsOption = None,
    passphrase: PassphraseOption = False,
    passphrase_file: NewPassphraseFileOption = None,
    attempts: AttemptsOption = None,
    copy: CopyOption = False,
    qr: QrOption = False,
    label: LabelOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    for_: ForOption = None,
) -> None:
    """Generate a strong random password; print it, or share it directly with --share."""
    rt: Runtime = ctx.obj
    alphabet = CHARSETS.get(charset)
    if alphabet is None:
        raise UsageError(
            f"unknown charset {charset!r}", hints=(f"choose one of: {', '.join(CHARSETS)}",)
        )
    if not 1 <= length <= 4096:
        raise UsageError("--length must be between 1 and 4096")
    options = ShareOptions(
        ttl, views, passphrase, passphrase_file, attempts, copy, qr, label, wait, timeout, for_
    )
    if options != ShareOptions() and not share_it:
        raise UsageError("share options need --share")
    if share_it:
        check_options(options)
    import secrets

    value = "".join(secrets.choice(alphabet) for _ in range(length))
    if share_it:
        data = value.encode("ascii")
        shared = share_secret(rt, Payload(Meta(), len(data), data=data), options)
        wait_if_asked(rt, shared, options)
        return
    bits = round(length * math.log2(len(alphabet)), 1)
    if rt.options.json:
        rt.output.json({"secret": value, "length": length, "charset": charset, "bits": bits})
    else:
        rt.output.secret(value.encode("ascii"))
