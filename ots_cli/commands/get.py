"""``ots get`` and ``ots peek``: fetch and decrypt a secret, or look at it without consuming it.

Invariants:

- ``get`` peeks first (see :mod:`ots_cli.usecases.fetch`) and checks every precondition before it
  consumes anything (:mod:`ots_cli.usecases.deliver`: the options, the output file claimed, the
  GitHub env/output files opened for appending; then the passphrase). A person at a terminal is
  shown what they are about to consume. Nothing is asked when the session is not interactive, with
  ``--no-input``, ``--yes`` or ``CI`` set.
- Where the plaintext goes, and how, is :mod:`ots_cli.usecases.deliver`'s: exact bytes on stdout, a
  0600 file, or GitHub's env/output files with the value masked first.
- ``peek`` changes nothing on the server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ots_cli.cli.options import (
    AllowWeakKdfOption,
    ForceOption,
    IdTokenEnvOption,
    MaskOption,
    OutputOption,
    PassphraseFileOption,
    RawOption,
    ToEnvOption,
    ToOutputOption,
    YesOption,
)
from ots_cli.core.binding import describe_binding
from ots_cli.core.render import describe_bytes, describe_time
from ots_cli.integrations.github import MaskMode
from ots_cli.runtime import Runtime
from ots_cli.terminal.output import visible
from ots_cli.usecases import deliver, fetch, identity
from ots_cli.usecases.fetch import load_link

__all__ = ["get", "peek"]

LinkArgument = Annotated[
    str,
    typer.Argument(
        metavar="LINK",
        help="The link (https://HOST/s/ID#KEY or ID#KEY), or '-' to read it from stdin.",
    ),
]


def get(
    ctx: typer.Context,
    link_text: LinkArgument,
    output_path: OutputOption = None,
    force: ForceOption = False,
    yes: YesOption = False,
    raw: RawOption = False,
    passphrase_file: PassphraseFileOption = None,
    to_env: ToEnvOption = None,
    to_output: ToOutputOption = None,
    mask: MaskOption = MaskMode.auto,
    allow_weak_kdf: AllowWeakKdfOption = False,
    id_token_env: IdTokenEnvOption = None,
) -> None:
    """Fetch a secret once, decrypt it locally and print it (exact bytes), or save a file."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    target = deliver.Target(output_path, force, raw, yes, to_env, to_output, mask)
    deliver.check_target(rt, target)
    found = fetch.peek(rt, link, id_token_env=id_token_env)
    fetch.check_kdf_cost(rt, found, allow_weak=allow_weak_kdf)
    deliver.check_fits(rt, found, target)
    identity.prove_identity(rt, found, id_token_env)
    # Claimed before anything is consumed, so that a refusal costs nothing.
    with deliver.claim(rt, target) as claims:
        if rt.can_prompt() and not yes:
            fetch.confirm(
                rt,
                fetch.describe(rt, found),
                "Reveal it now?",
                "not revealed; the link still works",
            )
        passphrase = fetch.passphrase_for(rt, found, passphrase_file)
        deliver.deliver(rt, found, passphrase, target, claims)


def peek(ctx: typer.Context, link_text: LinkArgument) -> None:
    """Show a secret's state without consuming it."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    found = fetch.peek(rt, link)
    peeked, header = found.peeked, found.header
    if rt.options.json:
        rt.output.json(
            {
                "id": link.id_text,
                "server": found.api.server,
                "state": "available",
                "created_at": peeked.created_at,
                "expires_at": peeked.expires_at,
                "views_left": peeked.views_left,
                "passphrase": peeked.passphrase,
                "attempts_left": peeked.attempts_left,
                "size": peeked.size,
                "padded_length": header.padded_length,
                "binding": header.binding,
            }
        )
        return
    now = rt.now()
    rows = [
        ("state", "available"),
        ("expires", describe_time(peeked.expires_at, now)),
        ("views left", str(peeked.views_left)),
        (
            "passphrase",
            f"yes, {peeked.attempts_left} attempts left" if peeked.passphrase else "no",
        ),
        ("size", f"up to {describe_bytes(header.padded_length)}"),
    ]
    if header.binding is not None:
        rows.append(("readable by", describe_binding(header.binding)))
    width = max(len(name) for name, _ in rows)
    rt.output.lines([f"{name.ljust(width)}  {visible(value)[0]}" for name, value in rows])
