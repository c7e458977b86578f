"""The operator's account commands: ``ots-server accounts add|list|delete`` and
``ots-server accounts token add|revoke``, on whatever store ``OTS_STORE_URL`` names.

- ``accounts add EMAIL [--token-name NAME]`` creates the account with one token (default
  name ``default``) and prints the token on stdout, once, and nothing else there; the store
  keeps only its SHA-256. ``accounts token add EMAIL [--name NAME]`` likewise (default name
  ``token-2``, ``token-3``, … whichever is free first).
- ``accounts token revoke EMAIL NAME``: the token fails from the next request on.
- ``accounts delete EMAIL``: the email, every token and every link to a secret are removed;
  the account's secrets keep working until read or expired.
- ``accounts list [--json]``: email, created time, and each token's name, created time and
  last-used day; never a token or a hash.

Exit status: 0 done; 1 refused by what the store holds (the account exists, there is no such
account or token, the token name is taken); 2 usage (a malformed email or token name); 3 the
settings or the store (as for ``serve``). Confirmations go to stderr and may name the email
the operator typed; nothing here logs (the server's own logs never hold an email).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
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
from ots_server.store import open_store
from ots_server.store.base import (
    Account,
    AccountExists,
    NewAccount,
    NewToken,
    NoSuchAccount,
    NoSuchToken,
    Store,
    TokenNameExists,
)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
_NAME_FORM = "1 to 64 of A-Z a-z 0-9 . _ -"


class Refused(Exception):
    """The store's state refuses the command (exit status 1); the message says why."""


class BadArgument(Exception):
    """A malformed email or token name (exit status 2)."""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``accounts`` command and its subcommands, under ``ots-server``."""
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
    add.add_argument("email", metavar="EMAIL")
    add.add_argument(
        "--token-name", default=DEFAULT_TOKEN_NAME, help=f"[{DEFAULT_TOKEN_NAME}] {_NAME_FORM}"
    )
    listing = sub.add_parser("list", help="list accounts and token names (never tokens)")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    delete = sub.add_parser("delete", help="delete an account, its tokens and links")
    delete.add_argument("email", metavar="EMAIL")
    token = sub.add_parser("token", help="add or revoke a token of an account")
    token_sub = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    token_add = token_sub.add_parser("add", help="add a token; print it once")
    token_add.add_argument("email", metavar="EMAIL")
    token_add.add_argument("--name", help=f"[token-2, token-3, …] {_NAME_FORM}")
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("email", metavar="EMAIL")
    revoke.add_argument("name", metavar="NAME")


def _email_key(text: str) -> tuple[str, str]:
    try:
        return normalise_email(text)
    except InvalidEmail as exc:
        raise BadArgument(f"EMAIL: {exc}") from None


def _name(name: str) -> str:
    if not valid_token_name(name):
        raise BadArgument(f"token name: expected {_NAME_FORM}")
    return name


async def _find(store: Store, email: str) -> Account:
    _, key = _email_key(email)
    try:
        return await store.find_account(key)
    except NoSuchAccount:
        raise Refused(f"no account has the email {email.strip()}") from None


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


def _note(message: str) -> None:
    print(f"ots-server: {message}", file=sys.stderr)


async def _add(store: Store, args: argparse.Namespace, now: int) -> None:
    email, key = _email_key(args.email)
    name = _name(args.token_name)
    token, token_hash = new_token()
    account = NewAccount(secrets.token_bytes(16), email, key, now, NewToken(name, token_hash, now))
    try:
        await store.create_account(account)
    except AccountExists:
        raise Refused(f"an account with the email {email} exists") from None
    print(token)
    _note(f"created the account {email}; its token {name!r} is above, shown only this once")


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


async def _delete(store: Store, args: argparse.Namespace, now: int) -> None:
    account = await _find(store, args.email)
    try:
        await store.delete_account(account.id)
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    _note(f"deleted the account {account.email}, its tokens and its links to secrets")


async def _token_add(store: Store, args: argparse.Namespace, now: int) -> None:
    account = await _find(store, args.email)
    name = _name(args.name) if args.name is not None else _free_name(account)
    token, token_hash = new_token()
    try:
        await store.add_token(account.id, NewToken(name, token_hash, now))
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    except TokenNameExists:
        raise Refused(f"the account {account.email} has a token named {name!r}") from None
    print(token)
    _note(f"added the token {name!r} to {account.email}; it is above, shown only this once")


async def _token_revoke(store: Store, args: argparse.Namespace, now: int) -> None:
    account = await _find(store, args.email)
    name = _name(args.name)
    try:
        await store.revoke_token(account.id, name)
    except NoSuchAccount:
        raise Refused(f"no account has the email {account.email}") from None
    except NoSuchToken:
        raise Refused(f"the account {account.email} has no token named {name!r}") from None
    _note(f"revoked the token {name!r} of {account.email}")


_COMMANDS = {
    "add": _add,
    "list": _list,
    "delete": _delete,
    "token add": _token_add,
    "token revoke": _token_revoke,
}


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``accounts`` command; store and settings errors are the caller's (exit 3)."""
    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    command = args.accounts_command
    if command == "token":
        command += " " + args.token_command
    try:
        await _COMMANDS[command](store, args, int(time.time()))
    except BadArgument as exc:
        print(f"ots-server: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Refused as exc:
        print(f"ots-server: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await store.close()
    return EXIT_OK
