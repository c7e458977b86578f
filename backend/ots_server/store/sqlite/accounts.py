"""The account half of the SQLite store: a mixin of
:class:`~ots_server.store.sqlite.store.SQLiteStore`.

Every change is one write transaction (``BEGIN IMMEDIATE``), so an account and its first token
appear together, a revoked token is gone for every worker process the moment ``revoke_token``
returns, and deleting an account removes its tokens and unlinks its secrets in the same commit
(foreign keys, see :mod:`ots_server.store.sqlite.schema`). Authentication is one read of the
``tokens`` primary key; it writes only when the stored last-used day is not today's, so an
account costs one write per token per day, not one per request.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from typing import Any, TypeVar

from ots_server.store import rules
from ots_server.store.outcomes import (
    AccountExists,
    NoSuchAccount,
    NoSuchToken,
    StoreFull,
    TokenNameExists,
    UnknownToken,
)
from ots_server.store.records import (
    Account,
    NewAccount,
    NewToken,
    Principal,
    ReceiptStatus,
    TokenInfo,
)
from ots_server.store.sqlite import tx as tx
from ots_server.store.sqlite.lane import Work

T = TypeVar("T")

_TOKENS = "SELECT account_id, name, created_at, last_used_day FROM tokens"
_RECEIPTS = """
    SELECT id, state, state_at, created_at, expires_at, views, views_left, read_at
    FROM records WHERE account_id = ? AND keep_until > ?
    ORDER BY created_at DESC, rowid DESC LIMIT ?
"""


def _accounts(
    conn: sqlite3.Connection, rows: Iterable[Any], tokens: Iterable[Any]
) -> list[Account]:
    by_account: dict[bytes, list[TokenInfo]] = {}
    for account_id, name, created_at, last_used_day in tokens:
        by_account.setdefault(bytes(account_id), []).append(
            TokenInfo(name, created_at, last_used_day)
        )
    accounts = []
    for account_id, email, created_at in rows:
        listed = sorted(by_account.get(bytes(account_id), []), key=lambda t: (t.created_at, t.name))
        accounts.append(Account(bytes(account_id), email, created_at, tuple(listed)))
    return accounts


def _one(conn: sqlite3.Connection, account_id: bytes) -> Account:
    rows = conn.execute(
        "SELECT id, email, created_at FROM accounts WHERE id = ?", (account_id,)
    ).fetchall()
    if not rows:
        raise NoSuchAccount
    tokens = conn.execute(_TOKENS + " WHERE account_id = ?", (account_id,)).fetchall()
    return _accounts(conn, rows, tokens)[0]


def _require_account(conn: sqlite3.Connection, account_id: bytes) -> None:
    if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
        raise NoSuchAccount


def _insert_token(conn: sqlite3.Connection, account_id: bytes, token: NewToken) -> None:
    taken = conn.execute(
        "SELECT 1 FROM tokens WHERE account_id = ? AND name = ?", (account_id, token.name)
    ).fetchone()
    if taken:
        raise TokenNameExists
    conn.execute(
        "INSERT INTO tokens (hash, account_id, name, created_at) VALUES (?, ?, ?, ?)",
        (token.hash, account_id, token.name, token.created_at),
    )


class SQLiteAccounts:
    """Account methods over the store's read and write lanes (provided by the store)."""

    async def _read(self, fn: Work[T], now: int) -> T:
        raise NotImplementedError

    async def _write(self, fn: Work[T], now: int) -> T:
        raise NotImplementedError

    async def create_account(self, account: NewAccount) -> None:
        def run(conn: sqlite3.Connection, now: int) -> None:
            key = (account.email_key,)
            if conn.execute("SELECT 1 FROM accounts WHERE email_key = ?", key).fetchone():
                raise AccountExists
            conn.execute(
                "INSERT INTO accounts (id, email, email_key, created_at) VALUES (?, ?, ?, ?)",
                (account.id, account.email, account.email_key, account.created_at),
            )
            _insert_token(conn, account.id, account.token)

        await self._write(run, account.created_at)

    async def find_account(self, email_key: str) -> Account:
        def run(conn: sqlite3.Connection, now: int) -> Account:
            row = conn.execute(
                "SELECT id FROM accounts WHERE email_key = ?", (email_key,)
            ).fetchone()
            if row is None:
                raise NoSuchAccount
            return _one(conn, bytes(row[0]))

        return await self._read(run, 0)

    async def get_account(self, account_id: bytes) -> Account:
        return await self._read(lambda conn, now: _one(conn, account_id), 0)

    async def list_accounts(self) -> list[Account]:
        def run(conn: sqlite3.Connection, now: int) -> list[Account]:
            # One read transaction, so accounts and tokens are one snapshot.
            conn.execute("BEGIN")
            try:
                rows = conn.execute(
                    "SELECT id, email, created_at FROM accounts ORDER BY created_at, email"
                ).fetchall()
                return _accounts(conn, rows, conn.execute(_TOKENS).fetchall())
            finally:
                conn.execute("COMMIT")

        return await self._read(run, 0)

    async def add_token(self, account_id: bytes, token: NewToken) -> None:
        def run(conn: sqlite3.Connection, now: int) -> None:
            _require_account(conn, account_id)
            _insert_token(conn, account_id, token)

        await self._write(run, token.created_at)

    async def revoke_token(self, account_id: bytes, name: str) -> None:
        def run(conn: sqlite3.Connection, now: int) -> None:
            _require_account(conn, account_id)
            cursor = conn.execute(
                "DELETE FROM tokens WHERE account_id = ? AND name = ?", (account_id, name)
            )
            if cursor.rowcount == 0:
                raise NoSuchToken

        await self._write(run, 0)

    async def delete_account(self, account_id: bytes) -> None:
        def run(conn: sqlite3.Connection, now: int) -> None:
            # The foreign keys delete the tokens and unlink the secrets in this statement.
            if conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount == 0:
                raise NoSuchAccount

        await self._write(run, 0)

    async def authenticate(self, token_hash: bytes, now: int) -> Principal:
        def look(conn: sqlite3.Connection, now: int) -> tuple[bytes, str, int | None]:
            row = conn.execute(
                "SELECT account_id, name, last_used_day FROM tokens WHERE hash = ?",
                (token_hash,),
            ).fetchone()
            if row is None:
                raise UnknownToken
            return bytes(row[0]), row[1], row[2]

        def touch(conn: sqlite3.Connection, now: int) -> None:
            conn.execute(
                "UPDATE tokens SET last_used_day = ? WHERE hash = ?", (rules.day(now), token_hash)
            )

        account_id, name, last_used_day = await self._read(look, now)
        if last_used_day != rules.day(now):
            with contextlib.suppress(StoreFull):  # a full store still lets accounts read
                await self._write(touch, now)
        return Principal(account_id, name)

    async def account_receipts(
        self, account_id: bytes, now: int, limit: int
    ) -> list[ReceiptStatus]:
        def run(conn: sqlite3.Connection, now: int) -> list[ReceiptStatus]:
            rows = conn.execute(_RECEIPTS, (account_id, now, limit)).fetchall()
            return [tx.receipt(row, now) for row in rows]

        return await self._read(run, now)
