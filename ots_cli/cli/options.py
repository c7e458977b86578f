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
    "ConfirmOption",
    "ForceOption",
    "MaskOption",
    "OutputOption",
    "PassphraseFileOption",
    "RawOption",
    "SecretFileArgument",
    "ToEnvOption",
    "ToOutputOption",
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
