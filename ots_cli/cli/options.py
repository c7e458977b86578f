"""Options and arguments that several commands declare alike, so that they read alike.

Only declarations (Typer ``Annotated`` types): what an option does is decided by the use-case
module it is handed to (:mod:`ots_cli.usecases.deliver` for where a secret goes,
:mod:`ots_cli.usecases.fetch` for a passphrase, :mod:`ots_cli.usecases.secret_input` for where
a secret comes from).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ots_cli.integrations.github import MaskMode

__all__ = [
    "AllowEmptyOption",
    "AllowWeakKdfOption",
    "AttemptsOption",
    "ConfirmOption",
    "CopyOption",
    "ForOption",
    "ForceOption",
    "IdTokenEnvOption",
    "LabelOption",
    "MaskOption",
    "NewPassphraseFileOption",
    "OutputOption",
    "PassphraseFileOption",
    "PassphraseOption",
    "QrOption",
    "RawOption",
    "SecretFileArgument",
    "TimeoutOption",
    "ToEnvOption",
    "ToOutputOption",
    "TtlOption",
    "ViewsOption",
    "WaitOption",
    "YesOption",
]

# -- where a secret goes (ots get, ots request --wait, ots request wait) ------------------------

OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the secret to FILE (created 0600).",
        dir_okay=False,
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="With -o, replace FILE if it exists.")]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before consuming the secret.")
]
RawOption = Annotated[
    bool, typer.Option("--raw", help="On a terminal, print the bytes without escaping them.")
]
ToEnvOption = Annotated[
    str | None,
    typer.Option(
        "--to-env",
        metavar="NAME",
        help="GitHub Actions: mask the value and set NAME for the following steps "
        "($GITHUB_ENV). Nothing is printed.",
    ),
]
ToOutputOption = Annotated[
    str | None,
    typer.Option(
        "--to-output",
        metavar="NAME",
        help="GitHub Actions: mask the value and set the step output NAME ($GITHUB_OUTPUT).",
    ),
]
MaskOption = Annotated[
    MaskMode,
    typer.Option(
        "--mask",
        help="Mask the value in the CI log: github (::add-mask::), none, or auto (github on "
        "GitHub Actions).",
        case_sensitive=False,
    ),
]

# -- reading a secret (ots get, ots run) -------------------------------------------------------

PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="PATH",
        help="Read the passphrase from PATH.",
        dir_okay=False,
    ),
]
AllowWeakKdfOption = Annotated[
    bool,
    typer.Option(
        "--allow-weak-kdf",
        help="Accept a passphrase cost below the default (Argon2id 6 passes over 256 MiB), "
        "as a sender's passphrase_cost = interactive makes. Env OTS_ALLOW_WEAK_KDF.",
    ),
]

# -- where a secret comes from (ots share, ots respond) ----------------------------------------

SecretFileArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[FILE|-]",
        help="Read the secret from FILE, or '-' for stdin. Default: stdin when it is not "
        "a terminal, else a hidden prompt.",
        show_default=False,
    ),
]
ConfirmOption = Annotated[
    bool, typer.Option("--confirm", help="At the prompt, ask for the secret twice.")
]
AllowEmptyOption = Annotated[
    bool,
    typer.Option("--allow-empty", help="Share an empty input (refused by default, exit 2)."),
]

# -- sharing (ots share, ots generate --share) ------------------------------------------------

TtlOption = Annotated[
    str | None,
    typer.Option(
        "--ttl",
        metavar="DURATION",
        help="How long the secret lives: 90s, 30m, 1h, 7d (default: the server's). Env OTS_TTL.",
    ),
]
ViewsOption = Annotated[
    int | None,
    typer.Option("--views", metavar="N", help="How many times it can be read (default 1)."),
]
PassphraseOption = Annotated[
    bool, typer.Option("--passphrase", help="Also protect it with a passphrase (prompted).")
]
NewPassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="PATH",
        help="Read the passphrase from PATH (its first line).",
        dir_okay=False,
    ),
]
ForOption = Annotated[
    str | None,
    typer.Option(
        "--for",
        metavar="IDENTITY",
        help=(
            "Bind the secret to a CI identity: github:OWNER/REPO[@REF][:ENVIRONMENT][:WORKFLOW] "
            "(a workflow without environment: ::WORKFLOW) or gitlab:GROUP/PROJECT[@REF]. Only "
            "that pipeline can reveal it (docs/ci.md)."
        ),
    ),
]
IdTokenEnvOption = Annotated[
    str | None,
    typer.Option(
        "--id-token-env",
        metavar="NAME",
        help=(
            "Read the CI ID token for a bound secret from variable NAME (default: OTS_ID_TOKEN; "
            "GitHub Actions: fetched from the runner)."
        ),
    ),
]
AttemptsOption = Annotated[
    int | None,
    typer.Option(
        "--attempts",
        metavar="N",
        help="Wrong passphrases allowed before the secret is burned (server default 5).",
    ),
]
CopyOption = Annotated[bool, typer.Option("--copy", help="Also put the link on the clipboard.")]
QrOption = Annotated[bool, typer.Option("--qr", help="Show the link as a QR code on stderr.")]
LabelOption = Annotated[
    str | None,
    typer.Option("--label", metavar="TEXT", help="A note kept in the local receipt only."),
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="After printing the link, wait until the secret is read (exit 0), burned (6) "
        "or expires unread (7).",
    ),
]
TimeoutOption = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        metavar="DURATION",
        help="With --wait, give up after DURATION (exit 9; the secret stays shared).",
    ),
]
