"""``ots login``, ``ots logout`` and ``ots whoami``: an account token for one server.

Invariants:

- The token comes from a hidden prompt or from stdin (``--with-token``), never from argv; its
  shape is checked before any request, and the server must accept it (``GET /account``)
  before it is stored.
- It is stored in the system keyring (service ``ots:<host[:port]>``, user name ``token``), or,
  only with ``--insecure-storage``, in a 0600 file under the config dir, with a warning. A
  keyring that is missing, locked or hanging is an error naming the alternatives, never a
  quiet fall-back to the file. Before a hidden prompt asks for the token, ``login`` reads the
  keyring once, so that nobody pastes a token in vain. A token from stdin (``--with-token``)
  is not lost by a late failure, so there the keyring is touched only to store it.
- The token is never printed: ``whoami`` shows the email and where the token came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ots_cli.errors import AuthError, ConfigError, UsageError
from ots_cli.local.tokens import (
    ENV_VARIABLE,
    MAX_TOKEN_INPUT,
    Credential,
    check_token,
    keyring_service,
    not_logged_in,
    server_identity,
)
from ots_cli.runtime import Runtime
from ots_cli.terminal.prompts import ask_hidden

if TYPE_CHECKING:
    from ots_cli.api.client import Account

__all__ = ["login", "logout", "whoami"]

#: How each token source is named in sentences.
_SOURCES = {
    "keyring": "the system keyring",
    ENV_VARIABLE: ENV_VARIABLE,
    "--token-file": "--token-file",
    "insecure file": "the insecure token file",
}


def login(
    ctx: typer.Context,
    with_token: Annotated[
        bool,
        typer.Option("--with-token", help="Read the token from stdin instead of a hidden prompt."),
    ] = False,
    insecure_storage: Annotated[
        bool,
        typer.Option(
            "--insecure-storage",
            help="Keep the token in a plain 0600 file under the config dir instead of the "
            "system keyring.",
        ),
    ] = False,
) -> None:
    """Check an account token with the server and keep it in the system keyring."""
    rt: Runtime = ctx.obj
    if ctx.args:  # extra words (app.py lets them through): never quoted, likely the token
        raise UsageError(
            "`ots login` takes no token on the command line, where the shell history and the "
            "process list would keep it",
            hints=(
                "pipe it: ots login --with-token < FILE",
                "or run `ots login` in a terminal to be asked",
            ),
        )
    if rt.options.token_file is not None:
        raise UsageError(
            "--token-file does not apply to `ots login`",
            hints=("pipe the token instead: ots login --with-token < PATH",),
        )
    server = rt.server_url()
    identity = server_identity(server)
    service = keyring_service(identity)
    if not insecure_storage and not with_token and rt.can_prompt():
        # Missing, locked or silent: better known before the token is pasted than after. A
        # backend that accepts and forgets shows only on the write, which checks it too.
        rt.keystore().get(service)
    token = _read_token(rt, identity, with_token=with_token)
    check_token(token, source="the token given", error=UsageError)
    api = rt.api(server, credential=Credential(token, "login"))
    try:
        account = api.account()
    except AuthError as exc:
        raise AuthError(
            f"the server {identity} does not accept this token (unknown or revoked); "
            "nothing was stored",
            hints=(
                f"check that the token is for {identity}: the operator makes one with "
                "`ots-server accounts add EMAIL` or `ots-server accounts token add EMAIL`",
            ),
        ) from exc
    files = rt.token_files
    path = None
    if insecure_storage:
        path = files.write_insecure(identity, token)
        rt.output.warn(
            f"the token is stored unencrypted in {path} (mode 0600): anyone who can read your "
            "files can use it"
        )
        if files.in_keyring(identity):  # it would take precedence over the file
            try:
                rt.keystore().delete(service)
            except ConfigError as exc:
                rt.output.warn(f"{exc.message}; the earlier token may remain in the keyring")
            files.unmark_keyring(identity)
    else:
        rt.keystore().put(service, token)
        try:
            files.mark_keyring(identity)
        except ConfigError:
            rt.keystore().delete(service)
            raise
        if files.remove_insecure(identity):
            rt.output.note("removed the plain-text token file of an earlier --insecure-storage")
    if rt.options.token_file is None and rt.env.get(ENV_VARIABLE):
        rt.output.warn(f"{ENV_VARIABLE} is set: it takes precedence over the stored token")
    storage = "insecure file" if insecure_storage else "keyring"
    if rt.options.json:
        rt.output.json(
            {
                "server": api.server,
                "email": account.email,
                "storage": storage,
                "path": None if path is None else str(path),
            }
        )
        return
    where = "the system keyring" if path is None else str(path)
    rt.output.note(f"logged in to {identity} as {account.email}; the token is in {where}")


def _read_token(rt: Runtime, identity: str, *, with_token: bool) -> str:
    if with_token:
        if _isatty(rt.stdin):
            raise UsageError(
                "--with-token reads the token from stdin, which is a terminal",
                hints=("pipe it (ots login --with-token < FILE), or leave out --with-token",),
            )
        try:
            raw = rt.stdin.read(MAX_TOKEN_INPUT + 1)
        except OSError as exc:
            raise UsageError(f"cannot read stdin: {exc.strerror or exc}") from exc
        if len(raw) > MAX_TOKEN_INPUT:
            raise UsageError("stdin holds more than a token")
        lines = raw.decode("ascii", errors="replace").splitlines()
        token = lines[0].strip() if lines else ""
        if not token:
            raise UsageError("no token on stdin")
        return token
    if not rt.can_prompt():
        raise UsageError(
            "no token given",
            hints=(
                f"pipe it: ots login --with-token < FILE ({rt.no_prompt_reason()})",
                "in CI, skip the login: give the token in OTS_TOKEN or with --token-file PATH",
            ),
        )
    token = ask_hidden(rt.stdin, rt.output, f"Token for {identity} (hidden): ").strip()
    if not token:
        raise UsageError("no token entered")
    return token


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def logout(ctx: typer.Context) -> None:
    """Remove the stored account token of the server (keyring and insecure file)."""
    rt: Runtime = ctx.obj
    server = rt.server_url()
    identity = server_identity(server)
    files = rt.token_files
    removed: list[str] = []
    if files.remove_insecure(identity):
        removed.append("insecure file")
    marked = files.in_keyring(identity)
    try:
        # Asked even without a marker: a token ots stored from another config dir, or before
        # the marker was lost, must be removable too.
        if rt.keystore().delete(keyring_service(identity)):
            removed.append("keyring")
    except ConfigError as exc:
        if marked:  # the marker stays, so that the next `ots logout` tries again
            exc.hints = (
                "the token is still in the keyring: run `ots logout` again once the keyring "
                "answers (unlock it first if it is locked)",
                _done(removed),
            )
            raise
        rt.output.note(f"{exc.message}; it was not checked for a token")
    files.unmark_keyring(identity)
    if rt.options.json:
        rt.output.json({"server": server, "removed": removed})
    elif removed:
        where = " and ".join(
            "the system keyring" if item == "keyring" else "the insecure token file"
            for item in removed
        )
        rt.output.note(f"removed the token for {identity} from {where}")
    else:
        rt.output.note(f"no token was stored for {identity}")
    if rt.options.token_file is None and rt.env.get(ENV_VARIABLE):
        rt.output.warn(f"{ENV_VARIABLE} is still set: ots keeps using it for {identity}")


def _done(removed: list[str]) -> str:
    if "insecure file" in removed:
        return "the insecure token file was removed"
    return "nothing else was stored"


def whoami(ctx: typer.Context) -> None:
    """Show the account the token belongs to, and where the token came from."""
    rt: Runtime = ctx.obj
    api = rt.api()
    credential = api.credential()
    if credential is None:
        raise not_logged_in(api.server)
    account = api.account()
    if rt.options.json:
        rt.output.json(_account_json(api.server, credential.source, account))
        return
    rt.output.line(account.email)
    rt.output.note(
        f"on {server_identity(api.server)}, with the token from "
        f"{_SOURCES.get(credential.source, credential.source)}"
    )


def _account_json(server: str, source: str, account: Account) -> dict[str, object]:
    return {
        "server": server,
        "email": account.email,
        "created_at": account.created_at,
        "token_source": source,
        "limits": account.limits._asdict(),
        "tokens": [token._asdict() for token in account.tokens],
    }
