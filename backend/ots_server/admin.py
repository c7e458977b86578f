"""The operator's account commands: ``ots-server accounts add|list|delete`` and
``ots-server accounts token add|revoke``, on whatever store ``OTS_STORE_URL`` names.

- ``accounts add EMAIL [--token-name NAME]`` creates the account with one token (default
  name ``default``) and prints the token on stdout, once, and nothing else there; the store
  keeps only its SHA-256. ``accounts token add EMAIL [--token-name NAME]`` likewise (default
  name ``token-2``, ``token-3``, … whichever is free first).
- ``accounts token revoke EMAIL --token-name NAME``: the token fails from the next request on.
- ``accounts delete EMAIL [--yes]``: asks on the terminal first (without a terminal, only
  ``--yes`` deletes); the email, every token and every link to a secret are removed; the
  account's secrets keep working until read or expired.
- ``accounts list [--json]``: email, created time, and each token's name, created time and
  last-used day; never a token or a hash.

A token is named the one way, ``--token-name NAME``, in every command. Emails and token names
are checked while the arguments are parsed, so a malformed one is a usage error that shows the
subcommand's usage, before any store is opened.

Exit status (:class:`ots_server.exits.ServerExit`, mapped by :func:`ots_server.cli.main`):
``OK`` done; ``REFUSED`` nothing done: refused by what the store holds (the account exists,
there is no such account or token, the token name is taken) or declined at the prompt; ``USAGE``
(a malformed argument, or ``delete`` without ``--yes`` where nothing can be asked); ``CONFIG``
the settings or the store (as for ``serve``). Confirmations go to stderr and may name the email
the operator typed; nothing here logs (the server's own logs never hold an email).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any

from ots_server.accounts import (
    DEFAULT_TOKEN_NAME,
    InvalidEmail,
    day_text,
    new_token,
    normalise_email,
    valid_token_name,
)
from ots_server.settings import Settings
from ots_server.store import (
    Account,
    AccountExists,
    NewAccount,
    NewToken,
    NoSuchAccount,
    NoSuchToken,
    Store,
    TokenNameExists,
    open_store,
)

_NAME_FORM = "1 to 64 of A-Z a-z 0-9 . _ -"


class Refused(Exception):
    """The store's state refuses the command (``ServerExit.REFUSED``); the message says why."""


class Declined(Exception):
    """The operator answered no (``ServerExit.REFUSED``, nothing done); not an error."""


class NeedsConfirmation(Exception):
    """A destructive command without ``--yes`` where nothing can be asked (``USAGE``)."""


@dataclass(frozen=True)
class Email:
    """An email argument: the address as it will be shown, and its key (:mod:`accounts`)."""

    address: str
    key: str


def _email(text: str) -> Email:
    """argparse ``type`` of EMAIL: a malformed one is a usage error of the subcommand."""
    try:
        return Email(*normalise_email(text))
    except InvalidEmail as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _token_name(text: str) -> str:
    """argparse ``type`` of ``--token-name``."""
    if not valid_token_name(text):
        raise argparse.ArgumentTypeError(f"expected {_NAME_FORM}")
    return text


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``accounts`` command and its subcommands, under ``ots-server``. A token is named
    with ``--token-name NAME`` everywhere; a malformed argument is a usage error that shows
    the subcommand's usage (argparse ``type`` functions check it before the store opens)."""
    accounts = commands.add_parser(
        "accounts",
        help="manage accounts and their tokens",
        description=(
            "Accounts hold one email address and hashes of their tokens. A token is printed "
            "once, on stdout, when it is made; the store keeps only its SHA-256."
        ),
        formatter_class=formatter,
    )
    sub = accounts.add_subparsers(dest="accounts_command", metavar="COMMAND", required=True)
    add = sub.add_parser("add", help="create an account; print its first token once")
    _email_argument(add)
    add.add_argument(
        "--token-name",
        metavar="NAME",
        type=_token_name,
        default=DEFAULT_TOKEN_NAME,
        help=f"name of its first token: {_NAME_FORM} (default: {DEFAULT_TOKEN_NAME})",
    )
    listing = sub.add_parser("list", help="list accounts and token names (never tokens)")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    delete = sub.add_parser("delete", help="delete an account, its tokens and links")
    _email_argument(delete)
    delete.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask (required when stdin is not a terminal)",
    )
    token = sub.add_parser("token", help="add or revoke a token of an account")
    token_sub = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    token_add = token_sub.add_parser("add", help="add a token; print it once")
    _email_argument(token_add)
    token_add.add_argument(
        "--token-name",
        metavar="NAME",
        type=_token_name,
        help=f"its name: {_NAME_FORM} (default: the first free of token-2, token-3, …)",
    )
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    _email_argument(revoke)
    revoke.add_argument(
        "--token-name", metavar="NAME", type=_token_name, required=True, help="the token to revoke"
    )
    for parser in (add, listing, delete, token_add, revoke):
        parser.set_defaults(usage_parser=parser)


def _email_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", metavar="EMAIL", type=_email, help="the account's email address")


async def _find(store: Store, email: Email) -> Account:
    try:
        return await store.find_account(email.key)
    except NoSuchAccount:
        raise Refused(f"no account has the email {email.address}") from None


def _free_name(account: Account) -> str:
    taken = {token.name for token in account.tokens}
    number = 2
    while f"token-{number}" in taken:
        number += 1
    return f"token-{number}"


def _token_json(account: Account) -> list[dict[str, Any]]:
    return [
        {
            "name": token.name,
            "created_at": token.created_at,
            "last_used": None if token.last_used_day is None else day_text(token.last_used_day),
        }
        for token in account.tokens
    ]


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _line(account: Account) -> str:
    tokens = ", ".join(
        f"{token.name} (last used {day_text(token.last_used_day)})"
        if token.last_used_day is not None
        else f"{token.name} (never used)"
        for token in account.tokens
    )
    return f"{account.email}\tcreated {_when(account.created_at)}\ttokens: {tokens or '(none)'}"


def note(message: str) -> None:
    print(f"ots-server: {message}", file=sys.stderr)


async def _add(store: Store, args: argparse.Namespace, now: int) -> None:
    email, key = args.email.address, args.email.key
    name = args.token_name
    token, token_hash = new_token()
    account = NewAccount(secrets.token_bytes(16), email, key, now, NewToken(name, token_hash, now))
    try:
        await store.create_account(account)
    except AccountExists:
        raise Refused(f"an account with the email {email} exists") from None
    print(token)
    note(f"created the account {email}; its token {name!r} is above, shown only this once")


async def _list(store: Store, args: argparse.Namespace, now: int) -> None:
    accounts = await store.list_accounts()
    if args.json:
        listed = [
            {"email": a.email, "created_at": a.created_at, "tokens": _token_json(a)}
            for a in accounts
        ]
        print(json.dumps(listed, ensure_ascii=False))
        return
    for account in accounts:
        print(_line(account))


def _can_ask(email: Email, yes: bool) -> None:
    """Without ``--yes``, refuse at once (before the store is asked) when nothing can be asked."""
    if not yes and not sys.stdin.isatty():
        raise NeedsConfirmation(
            f"not deleting the account {email.address} without a confirmation: stdin is not a "
            "terminal; pass --yes to delete without asking"
        )


def _confirm(account: Account) -> None:
    """Ask on the terminal (stderr, stdin); anything but y or yes keeps the account."""
    count = len(account.tokens)
    print(
        f"Delete the account {account.email} and its {count} token{'' if count == 1 else 's'}? "
        "Its links to secrets go too (the secrets stay readable until read or expired). [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
        print(file=sys.stderr)
    if answer.strip().lower() not in {"y", "yes"}:
        raise Declined(f"kept the account {account.email}; nothing was deleted")


async def _delete(store: Store, args: argparse.Namespace, now: int) -> None:
    _can_ask(args.email, args.yes)
    account = await _find(store, args.email)
    if not args.yes:
        _confirm(account)
    try:
        await store.delete_account(account.id)
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    note(f"deleted the account {account.email}, its tokens and its links to secrets")


async def _token_add(store: Store, args: argparse.Namespace, now: int) -> None:
    account = await _find(store, args.email)
    name = args.token_name if args.token_name is not None else _free_name(account)
    token, token_hash = new_token()
    try:
        await store.add_token(account.id, NewToken(name, token_hash, now))
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    except TokenNameExists:
        raise Refused(f"the account {account.email} has a token named {name!r}") from None
    print(token)
    note(f"added the token {name!r} to {account.email}; it is above, shown only this once")


async def _token_revoke(store: Store, args: argparse.Namespace, now: int) -> None:
    account = await _find(store, args.email)
    name = args.token_name
    try:
        await store.revoke_token(account.id, name)
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    except NoSuchToken:
        raise Refused(f"the account {account.email} has no token named {name!r}") from None
    note(f"revoked the token {name!r} of {account.email}")


_COMMANDS = {
    "add": _add,
    "list": _list,
    "delete": _delete,
    "token add": _token_add,
    "token revoke": _token_revoke,
}


async def run(settings: Settings, args: argparse.Namespace) -> None:
    """Run one ``accounts`` command. Its outcomes (:class:`Refused`, :class:`Declined`,
    :class:`NeedsConfirmation`) and store and settings errors are the caller's to report
    (:func:`ots_server.cli.main` maps each to its exit status)."""
    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    command = args.accounts_command
    if command == "token":
        command += " " + args.token_command
    try:
        await _COMMANDS[command](store, args, int(time.time()))
    finally:
        await store.close()
