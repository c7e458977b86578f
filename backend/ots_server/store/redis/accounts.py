"""The account half of the Redis store: a mixin of :class:`.store.RedisStore`.

Keys (``P`` the prefix, ``AID`` the unpadded base64url account id, ``TH`` the hex SHA-256 of
a token, ``EH`` the hex SHA-256 of the email key)::

    P:a:{AID}   hash    the account: e (email), ek (email key), c (created)
    P:k:{AID}   hash    its tokens: name -> token hash (32 bytes)
    P:as:{AID}  zset    its links: id + receipt hash (48 bytes), scored by created_at
    P:ak:{AID}  zset    the same links scored by keep_until (to prune them exactly)
    P:t:TH      hash    token index: a (account id), n (name), c (created), d (last-used day)
    P:e:EH      string  email index: the account id

The four account keys share the hash tag ``{AID}``, so each change to them is one atomic
script, also on Cluster. The two index keys live in their own slots; changes that touch them
are ordered so that a crash (or a race between operator commands) between two steps never
leaves a working token that the account does not list:

- A token works exactly while ``P:t:TH`` exists; authentication reads only that key (one
  ``HMGET``, no cache), and writes the day at most once a day, only into an existing key.
- Adding a token reserves its name in ``P:k`` first, then writes ``P:t:TH``, then checks that
  the account still holds that name with that hash (an account deleted meanwhile: the index
  entry is removed again). Revoking deletes ``P:t:TH`` first, then the name.
- Deleting an account deletes every listed ``P:t:TH`` first (every token fails from then on),
  then the account's keys in one script, which also returns any token added meanwhile (those
  index entries are deleted too), then the email index. The links go with ``P:as``/``P:ak``;
  the secrets' own keys never name the account.
- Creating an account writes its keys first, then claims the email index (``SET NX``, or a
  compare-and-set over an entry whose account no longer exists), then the token index.
  ``find_account`` looks the email up through the index and, when the entry is missing or
  points at nothing, scans the accounts (operator commands only), so a command interrupted
  half-way can always be finished by running ``accounts delete`` again.
- Links are pruned exactly (``P:ak`` by ``keep_until``) whenever one is added or the receipts
  are listed, and both link sets carry the TTL of their longest-kept member. Account, token
  and email keys have no TTL: an account lasts until the operator deletes it.
- A listing checks every link against the secret's record (its receipt hash), so a link whose
  id was reused after its record was purged never shows somebody else's secret.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from collections.abc import Awaitable
from typing import Any

from ots_server.store import rules
from ots_server.store.outcomes import (
    AccountExists,
    NoSuchAccount,
    NoSuchToken,
    StoreError,
    StoreFull,
    TokenNameExists,
    UnknownToken,
)
from ots_server.store.records import (
    Account,
    NewAccount,
    NewToken,
    Principal,
    ReceiptState,
    ReceiptStatus,
    TokenInfo,
)
from ots_server.store.redis.account_scripts import (
    ACCOUNT_CREATE,
    ACCOUNT_DROP,
    COMPARE_AND_SET,
    DAY_TOUCH,
    LINK,
    LINKS,
    NAME_FORGET,
    NAME_HELD,
    NAME_RESERVE,
    UNLINK,
)
from ots_server.store.redis.client import RedisConnection, translated

#: Links read per round trip while listing receipts (a page is at most the limit asked for).
LINK_PAGE = 1000


async def _quietly(step: Awaitable[Any]) -> None:
    """A best-effort clean-up step: its failure must not hide the error being handled."""
    with contextlib.suppress(StoreError):
        await step


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8")


def _tag(account_id: bytes) -> str:
    return base64.urlsafe_b64encode(account_id).rstrip(b"=").decode("ascii")


def _account_id(tag: str) -> bytes:
    return base64.urlsafe_b64decode(tag + "=" * (-len(tag) % 4))


class RedisAccounts:
    """Account methods; the store provides the connection, the prefix and the guard."""

    connection: RedisConnection
    prefix: str

    def guard(self) -> None:
        raise NotImplementedError

    def _secret_keys(self, id: bytes) -> list[str]:
        raise NotImplementedError

    @property
    def _redis(self) -> Any:
        # redis-py's annotations make every reply ``bytes | str``; replies here are bytes.
        return self.connection.client

    def _register_account_scripts(self) -> None:
        client = self._redis
        self._account_create = client.register_script(ACCOUNT_CREATE)
        self._name_reserve = client.register_script(NAME_RESERVE)
        self._name_held = client.register_script(NAME_HELD)
        self._name_forget = client.register_script(NAME_FORGET)
        self._account_drop = client.register_script(ACCOUNT_DROP)
        self._day_touch = client.register_script(DAY_TOUCH)
        self._compare_and_set = client.register_script(COMPARE_AND_SET)
        self._link = client.register_script(LINK)
        self._links = client.register_script(LINKS)
        self._unlink = client.register_script(UNLINK)

    # -- keys -------------------------------------------------------------------------------

    def _account_keys(self, account_id: bytes) -> list[str]:
        """Account, tokens, links, link expiries: one hash tag."""
        tag = _tag(account_id)
        return [f"{self.prefix}:{kind}:{{{tag}}}" for kind in ("a", "k", "as", "ak")]

    def _token_key(self, token_hash: bytes) -> str:
        return f"{self.prefix}:t:{token_hash.hex()}"

    def _email_key(self, email_key: str) -> str:
        return f"{self.prefix}:e:{hashlib.sha256(email_key.encode()).hexdigest()}"

    async def _script(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        self.guard()
        return await translated(script(keys=keys, args=args))

    # -- links (called by the store's create) -----------------------------------------------

    async def _add_link(self, account_id: bytes, link: bytes, created_at: int, keep: int) -> bool:
        account, _, links, expiries = self._account_keys(account_id)
        reply = await self._script(
            self._link, [account, links, expiries], [created_at, link, created_at, keep]
        )
        return bool(reply)

    async def _remove_link(self, account_id: bytes, link: bytes) -> None:
        _, _, links, expiries = self._account_keys(account_id)
        await self._script(self._unlink, [links, expiries], [link])

    # -- accounts ---------------------------------------------------------------------------

    async def create_account(self, account: NewAccount) -> None:
        keys = self._account_keys(account.id)
        token = account.token
        created = await self._script(
            self._account_create,
            keys[:2],
            [account.email, account.email_key, account.created_at, token.name, token.hash],
        )
        if not created:
            raise StoreError("account id collision")  # 128 random bits: never in practice
        index = self._token_key(token.hash)
        try:
            await self._claim_email(account.email_key, account.id)
            fields = {"a": account.id, "n": token.name, "c": account.created_at}
            await translated(self._redis.hset(index, mapping=fields))
        except Exception:
            await _quietly(translated(self._redis.delete(index)))
            await _quietly(self._script(self._account_drop, keys, []))
            email_index = self._email_key(account.email_key)
            await _quietly(self._script(self._compare_and_set, [email_index], [account.id, ""]))
            raise

    async def _claim_email(self, email_key: str, account_id: bytes) -> None:
        index = self._email_key(email_key)
        client = self._redis
        for _ in range(3):
            if await translated(client.set(index, account_id, nx=True)):
                return
            held = await translated(client.get(index))
            if held is not None and await self._exists(bytes(held)):
                raise AccountExists
            # The entry points at nothing (an interrupted delete): take it over atomically.
            expected = b"" if held is None else bytes(held)
            if await self._script(self._compare_and_set, [index], [expected, account_id]):
                return
        raise StoreError("the email index keeps changing")

    async def _exists(self, account_id: bytes) -> bool:
        key = self._account_keys(account_id)[0]
        return bool(await translated(self._redis.exists(key)))

    async def _load(self, account_id: bytes) -> Account:
        self.guard()
        account_key, tokens_key, _, _ = self._account_keys(account_id)
        client = self._redis
        email, created_at = await translated(client.hmget(account_key, ["e", "c"]))
        if email is None:
            raise NoSuchAccount
        held = await translated(client.hgetall(tokens_key))
        pipe = client.pipeline(transaction=False)
        for token_hash in held.values():
            pipe.hmget(self._token_key(bytes(token_hash)), ["c", "d"])
        rows = await translated(pipe.execute()) if held else []
        tokens = [
            TokenInfo(_text(name), int(row[0]), None if row[1] is None else int(row[1]))
            for name, row in zip(held, rows, strict=True)
            if row[0] is not None  # an interrupted add or revoke: the token does not work
        ]
        tokens.sort(key=lambda token: (token.created_at, token.name))
        return Account(account_id, _text(email), int(created_at), tuple(tokens))

    async def get_account(self, account_id: bytes) -> Account:
        return await self._load(account_id)

    async def find_account(self, email_key: str) -> Account:
        self.guard()
        index = self._email_key(email_key)
        held = await translated(self._redis.get(index))
        if held is not None:
            with contextlib.suppress(NoSuchAccount):
                return await self._load(bytes(held))
            # Left by an interrupted delete: nothing may keep pointing at the email.
            await self._script(self._compare_and_set, [index], [bytes(held), ""])
        for account_id in await self._account_ids():
            key = self._account_keys(account_id)[0]
            if await translated(self._redis.hget(key, "ek")) == email_key.encode():
                return await self._load(account_id)
        raise NoSuchAccount

    async def _account_ids(self) -> list[bytes]:
        self.guard()
        start = len(self.prefix) + len(":a:{")
        return [
            _account_id(key[start:-1].decode("ascii"))
            async for key in self.connection.scan(f"{self.prefix}:a:*", 500)
        ]

    async def list_accounts(self) -> list[Account]:
        accounts = []
        for account_id in set(await self._account_ids()):
            with contextlib.suppress(NoSuchAccount):  # deleted while listing
                accounts.append(await self._load(account_id))
        return sorted(accounts, key=lambda account: (account.created_at, account.email))

    # -- tokens -----------------------------------------------------------------------------

    async def add_token(self, account_id: bytes, token: NewToken) -> None:
        keys = self._account_keys(account_id)[:2]
        exists, held = await self._script(self._name_reserve, keys, [token.name, token.hash])
        if not exists:
            raise NoSuchAccount
        if held is not None:
            raise TokenNameExists
        index = self._token_key(token.hash)
        client = self._redis
        try:
            fields = {"a": account_id, "n": token.name, "c": token.created_at}
            await translated(client.hset(index, mapping=fields))
            if not await self._script(self._name_held, keys, [token.name, token.hash]):
                raise NoSuchAccount  # deleted meanwhile; the index entry must not survive
        except Exception:
            await _quietly(translated(client.delete(index)))
            await _quietly(self._script(self._name_forget, keys[1:], [token.name, token.hash]))
            raise

    async def revoke_token(self, account_id: bytes, name: str) -> None:
        keys = self._account_keys(account_id)[:2]
        exists, held = await self._script(self._name_reserve, keys, [name, ""])
        if not exists:
            raise NoSuchAccount
        if held is None:
            raise NoSuchToken
        # The index first: from here on the token fails, even if the next step never runs.
        await translated(self._redis.delete(self._token_key(bytes(held))))
        await self._script(self._name_forget, keys[1:], [name, bytes(held)])

    async def delete_account(self, account_id: bytes) -> None:
        self.guard()
        keys = self._account_keys(account_id)
        client = self._redis
        email_key = await translated(client.hget(keys[0], "ek"))
        if email_key is None:
            raise NoSuchAccount
        listed = await translated(client.hvals(keys[1]))
        for token_hash in listed:
            await translated(client.delete(self._token_key(bytes(token_hash))))
        for token_hash in await self._script(self._account_drop, keys, []):
            await translated(client.delete(self._token_key(bytes(token_hash))))
        email_index = self._email_key(_text(email_key))
        await self._script(self._compare_and_set, [email_index], [account_id, ""])

    async def authenticate(self, token_hash: bytes, now: int) -> Principal:
        self.guard()
        index = self._token_key(token_hash)
        account_id, name, last_day = await translated(self._redis.hmget(index, ["a", "n", "d"]))
        if account_id is None or name is None:
            raise UnknownToken
        today = rules.day(now)
        if last_day is None or int(last_day) != today:
            with contextlib.suppress(StoreFull):  # a full Redis still lets accounts read
                await self._script(self._day_touch, [index], [today])
        return Principal(bytes(account_id), _text(name))

    # -- receipts ---------------------------------------------------------------------------

    async def account_receipts(
        self, account_id: bytes, now: int, limit: int
    ) -> list[ReceiptStatus]:
        keys = self._account_keys(account_id)
        found: list[ReceiptStatus] = []
        start = 0
        while len(found) < limit:
            page = min(LINK_PAGE, limit)
            links = await self._script(
                self._links, [keys[0], *keys[2:]], [now, start, start + page - 1]
            )
            found += await self._statuses([bytes(link) for link in links], now)
            if len(links) < page:
                break
            start += page
        return found[:limit]

    async def _statuses(self, links: list[bytes], now: int) -> list[ReceiptStatus]:
        rows = await self._status_rows([(link[:16], link[16:]) for link in links], now)
        return [status for status in rows if status is not None]

    async def _status_rows(
        self, wanted: list[tuple[bytes, bytes]], now: int
    ) -> list[ReceiptStatus | None]:
        """The receipt of each (id, receipt hash) pair, in order, read in one pipeline;
        ``None`` where the record is gone, purged, or holds another receipt hash (its id
        reused by another secret)."""
        if not wanted:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for id, _ in wanted:
            record, blob = self._secret_keys(id)
            pipe.hmget(record, ["rh", "st", "sa", "ca", "ea", "ku", "v", "vl", "ra"])
            pipe.exists(blob)
        replies = await translated(pipe.execute())
        statuses: list[ReceiptStatus | None] = []
        for index, (id, wanted_hash) in enumerate(wanted):
            row, blob_exists = replies[2 * index], replies[2 * index + 1]
            receipt_hash, state, at, created_at, expires_at, keep_until = row[:6]
            if (
                receipt_hash is None
                or not hmac.compare_digest(bytes(receipt_hash), wanted_hash)
                or int(keep_until) <= now
            ):
                statuses.append(None)
                continue
            stored, ea = _text(state), int(expires_at)
            shown: ReceiptState = rules.receipt_state(stored, ea, now)
            if stored == "pending" and not blob_exists:
                shown = "expired"  # Redis expired the ciphertext on its own clock
            statuses.append(
                ReceiptStatus(
                    id=id,
                    state=shown,
                    created_at=int(created_at),
                    expires_at=ea,
                    views=int(row[6]),
                    views_left=int(row[7]),
                    read_at=None if row[8] is None else int(row[8]),
                    burned_at=int(at) if stored == "burned" else None,
                )
            )
        return statuses
