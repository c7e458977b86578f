"""``ots request``: ask someone for a secret; ``request wait|list|cancel`` for what follows.

    ots request [--ttl D] [--label TEXT]            prints the link to send
    ots request --wait [-o FILE | --to-env NAME…]   prints the link on stderr, then the secret
    ots request wait ID|LINK                        receives the answer later, on this machine
    ots request list [--cached]                     the requests this machine waits for
    ots request cancel ID                           closes one

Invariants:

- Thin: the work is :mod:`ots_cli.usecases.requesting`'s; where the secret goes is
  :mod:`ots_cli.usecases.deliver`'s, exactly as for ``ots get``.
- Every option is checked, and the output file claimed, before a request is made or waited
  for, so a refusal costs nothing; ``ots request``'s own options are refused with a
  subcommand, and the delivery options without ``--wait``.
- Without ``--wait`` the link goes to stdout (the command's data); with it, stdout is for the
  secret, so the link goes to stderr, even with ``-q``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ots_cli.cli.options import (
    ForceOption,
    MaskOption,
    OutputOption,
    RawOption,
    ToEnvOption,
    ToOutputOption,
)
from ots_cli.core.durations import parse_duration
from ots_cli.core.render import describe_time
from ots_cli.errors import UsageError
from ots_cli.integrations.github import MaskMode
from ots_cli.runtime import Runtime
from ots_cli.terminal.output import visible
from ots_cli.usecases import deliver

if TYPE_CHECKING:
    from ots_cli.local.request_files import PendingRequest

__all__ = ["request_app"]

#: Characters of the id ``ots request list`` shows (any 6 or more identify a request).
SHORT_ID = 8

request_app = typer.Typer(
    name="request",
    help="Ask someone for a secret: print a link they answer with `ots respond` or in a "
    "browser; only this machine can open the answer.",
    add_completion=False,
    subcommand_metavar="[wait|list|cancel] [ARGS]...",
)

TimeoutOption = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        metavar="DURATION",
        help="Give up waiting after DURATION (exit 9; the request stays open).",
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Do not ask anything (a received dot file then loses its leading dot).",
    ),
]
ReferenceArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID|LINK",
        help="The request's id, an id prefix (6+ characters), its label, or its link.",
    ),
]


@request_app.callback(invoke_without_command=True)
def request(
    ctx: typer.Context,
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl",
            metavar="DURATION",
            help="How long the request can be answered: 90s, 30m, 1h, 7d (default: the server's).",
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", metavar="TEXT", help="A note kept in the local request file only."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="After printing the link (on stderr), wait for the answer and deliver the "
            "secret as `ots get` does; expired unanswered is exit 7.",
        ),
    ] = False,
    timeout: TimeoutOption = None,
    output_path: OutputOption = None,
    force: ForceOption = False,
    yes: YesOption = False,
    raw: RawOption = False,
    to_env: ToEnvOption = None,
    to_output: ToOutputOption = None,
    mask: MaskOption = MaskMode.auto,
) -> None:
    """Ask someone for a secret: print a link that only this machine can open the answer of."""
    target = deliver.Target(output_path, force, raw, yes, to_env, to_output, mask)
    given = ttl is not None or label is not None or wait or timeout is not None
    if ctx.invoked_subcommand is not None:
        if given or target != deliver.Target():
            raise UsageError(
                f"the options of `ots request` do not apply to `ots request "
                f"{ctx.invoked_subcommand}`",
                hints=(f"run `ots request {ctx.invoked_subcommand} --help` for its options",),
            )
        return
    rt: Runtime = ctx.obj
    if not wait and (timeout is not None or target != deliver.Target()):
        raise UsageError(
            "--timeout and the delivery options (-o, --to-env, --raw…) only apply with --wait"
        )
    seconds = None if ttl is None else parse_duration(ttl, what="--ttl")
    limit = None if timeout is None else parse_duration(timeout, what="--timeout")
    deliver.check_target(rt, target)
    from ots_cli.usecases.requesting import make, receive

    with deliver.claim(rt, target) as claims:
        made = make(rt, ttl=seconds, label=label)
        pending = made.request
        if wait:
            rt.output.note("send this link to whoever has the secret:")
            rt.output.stderr_raw(made.link + "\n")
            receive(rt, pending, target, claims, timeout=limit)
            return
    if rt.options.json:
        rt.output.json(
            {
                "link": made.link,
                "id": pending.id_text,
                "server": pending.server,
                "created_at": pending.created_at,
                "expires_at": pending.expires_at,
                "label": pending.label,
            }
        )
    else:
        rt.output.line(made.link)
    rt.output.note(
        f"send the link to whoever has the secret; `ots request wait {pending.reference}` "
        "receives it here"
    )


@request_app.command("wait")
def wait_command(
    ctx: typer.Context,
    reference: ReferenceArgument,
    timeout: TimeoutOption = None,
    output_path: OutputOption = None,
    force: ForceOption = False,
    yes: YesOption = False,
    raw: RawOption = False,
    to_env: ToEnvOption = None,
    to_output: ToOutputOption = None,
    mask: MaskOption = MaskMode.auto,
) -> None:
    """Wait for a request's answer and deliver the secret as `ots get` does."""
    rt: Runtime = ctx.obj
    target = deliver.Target(output_path, force, raw, yes, to_env, to_output, mask)
    limit = None if timeout is None else parse_duration(timeout, what="--timeout")
    deliver.check_target(rt, target)
    pending = _find(rt, reference)
    from ots_cli.usecases.requesting import receive

    with deliver.claim(rt, target) as claims:
        receive(rt, pending, target, claims, timeout=limit)


@request_app.command("list")
def list_command(
    ctx: typer.Context,
    cached: Annotated[
        bool, typer.Option("--cached", help="Do not ask the servers for the states.")
    ] = False,
) -> None:
    """List the requests this machine waits for, with their state."""
    rt: Runtime = ctx.obj
    from ots_cli.usecases.requesting import list_requests

    listed, removed = list_requests(rt, cached=cached)
    if removed:
        rt.output.note(
            f"removed the local files of {removed} request{'s' if removed != 1 else ''} "
            "that are over"
        )
    if rt.options.json:
        rt.output.json(
            {
                "requests": [
                    {
                        "id": item.request.id_text,
                        "server": item.request.server,
                        "label": item.request.label,
                        "created_at": item.request.created_at,
                        "expires_at": item.request.expires_at,
                        "state": item.state,
                        "answered_at": item.answered_at,
                        "fresh": item.fresh,
                    }
                    for item in listed
                ]
            }
        )
        return
    if not listed:
        rt.output.note("no open requests; `ots request` makes one")
        return
    now = rt.now()
    labels = [visible(item.request.label or "-", keep_newlines=False)[0] for item in listed]
    width = max(5, *(len(label) for label in labels))
    rt.output.line(f"{'ID'.ljust(SHORT_ID)}  {'LABEL'.ljust(width)}  STATE")
    for item, label in zip(listed, labels, strict=True):
        expires = describe_time(item.request.expires_at, now)
        if item.state == "answered":
            state = "answered" + (
                f" {describe_time(item.answered_at, now)}" if item.answered_at else ""
            )
        elif item.state == "open":
            state = f"open, expires {expires}"
        elif item.fresh:
            state = f"unknown to its server, expires {expires}"
        else:
            state = f"not asked, expires {expires}"
        rt.output.line(f"{item.request.id_text[:SHORT_ID]}  {label.ljust(width)}  {state}")


@request_app.command("cancel")
def cancel_command(ctx: typer.Context, reference: ReferenceArgument) -> None:
    """Close a request on its server and delete its private key here."""
    rt: Runtime = ctx.obj
    pending = _find(rt, reference)
    from ots_cli.usecases.requesting import cancel

    state, at = cancel(rt, pending)
    if rt.options.json:
        rt.output.json({"id": pending.id_text, "state": state, "at": at})
    elif state == "closed":
        rt.output.note("closed: nobody can answer it any more, and its private key is deleted")
    else:
        rt.output.note(f"it was over already ({state}); its private key is deleted")


def _find(rt: Runtime, reference: str) -> PendingRequest:
    """The local request a reference names: a link (only its id is used), an id, an id
    prefix or a label."""
    if "#" in reference or "/" in reference:
        from ots_cli.core.request_links import parse_request_link

        # No connection is made to the link's server: its id names the local file, which
        # holds the server the request was made on.
        reference = parse_request_link(reference, allow_insecure_http=True).id_text
    return rt.request_files.find(reference)
