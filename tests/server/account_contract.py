"""The account half of the store contract: a mixin of ``StoreContract``, so the one contract
suite runs it against every store (memory, SQLite, Redis, Redis Cluster)."""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from ots_server.store import (
    AccountExists,
    IdExists,
    NoSuchAccount,
    NoSuchToken,
    Principal,
    Store,
    TokenNameExists,
    UnknownToken,
)
from ots_server.store.rules import DAY_SECONDS, day

from .support import START, SimAccount, SimSecret

NOW = START
TODAY = day(NOW)


async def _linked(
    store: Store,
    account: SimAccount,
    now: int,
    *,
    ttl: int = 3600,
    views: int = 1,
    grace: int = 600,
) -> SimSecret:
    secret = SimSecret.make()
    new = secret.new_secret(now, ttl=ttl, views=views, grace=grace)
    await store.create(dataclasses.replace(new, account_id=account.id))
    return secret


class AccountContract:
    """Subclasses provide a ``store`` fixture."""

    # -- accounts ---------------------------------------------------------------------------

    async def test_create_account_then_find_and_get(self, store: Store) -> None:
        account = SimAccount.make("Alice@Example.org")
        await store.create_account(account.new_account(NOW))
        found = await store.find_account(account.email_key)
        assert (found.id, found.email, found.created_at) == (account.id, "Alice@example.org", NOW)
        assert [(t.name, t.created_at, t.last_used_day) for t in found.tokens] == [
            ("default", NOW, None)
        ]
        assert await store.get_account(account.id) == found

    async def test_email_key_is_unique(self, store: Store) -> None:
        first = SimAccount.make("bob@example.org")
        await store.create_account(first.new_account(NOW))
        again = SimAccount.make("BOB@example.ORG")
        assert again.email_key == first.email_key
        with pytest.raises(AccountExists):
            await store.create_account(again.new_account(NOW + 1))
        # Nothing of the refused account was kept: its token does not work.
        with pytest.raises(UnknownToken):
            await store.authenticate(again.token_hash, NOW + 1)
        assert [a.id for a in await store.list_accounts()] == [first.id]

    async def test_unknown_accounts(self, store: Store) -> None:
        with pytest.raises(NoSuchAccount):
            await store.find_account("nobody@example.org")
        with pytest.raises(NoSuchAccount):
            await store.get_account(os.urandom(16))
        with pytest.raises(NoSuchAccount):
            await store.add_token(os.urandom(16), SimAccount.make().new_token(NOW, "x"))
        with pytest.raises(NoSuchAccount):
            await store.revoke_token(os.urandom(16), "default")
        with pytest.raises(NoSuchAccount):
            await store.delete_account(os.urandom(16))
        assert await store.list_accounts() == []

    async def test_list_accounts_oldest_first(self, store: Store) -> None:
        made = [SimAccount.make(f"{name}@example.org") for name in ("c", "a", "b")]
        await store.create_account(made[0].new_account(NOW + 5))
        await store.create_account(made[1].new_account(NOW + 9))
        await store.create_account(made[2].new_account(NOW + 9))
        listed = await store.list_accounts()
        assert [a.email for a in listed] == ["c@example.org", "a@example.org", "b@example.org"]
        assert all(len(a.tokens) == 1 for a in listed)

    # -- tokens -----------------------------------------------------------------------------

    async def test_authenticate_knows_every_token_of_the_account(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        second = SimAccount.make()
        await store.add_token(account.id, second.new_token(NOW + 3, "ci"))
        assert await store.authenticate(account.token_hash, NOW) == Principal(account.id, "default")
        assert await store.authenticate(second.token_hash, NOW) == Principal(account.id, "ci")
        with pytest.raises(UnknownToken):
            await store.authenticate(os.urandom(32), NOW)
        tokens = (await store.get_account(account.id)).tokens
        assert [(t.name, t.created_at) for t in tokens] == [("default", NOW), ("ci", NOW + 3)]

    async def test_token_names_are_unique_within_an_account(self, store: Store) -> None:
        alice, bob = SimAccount.make(), SimAccount.make()
        await store.create_account(alice.new_account(NOW))
        await store.create_account(bob.new_account(NOW))
        extra = SimAccount.make()
        with pytest.raises(TokenNameExists):
            await store.add_token(alice.id, extra.new_token(NOW, "default"))
        with pytest.raises(UnknownToken):  # the refused token was not stored
            await store.authenticate(extra.token_hash, NOW)
        await store.add_token(alice.id, extra.new_token(NOW, "ci"))
        other = SimAccount.make()
        await store.add_token(bob.id, other.new_token(NOW, "ci"))  # another account: fine
        assert (await store.authenticate(other.token_hash, NOW)).account_id == bob.id

    async def test_last_used_day_is_written_once_a_day(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        await store.authenticate(account.token_hash, NOW)
        assert (await store.get_account(account.id)).tokens[0].last_used_day == TODAY
        # Later the same day, and a clock that went back a day: only a different day is written.
        await store.authenticate(account.token_hash, NOW + 60)
        assert (await store.get_account(account.id)).tokens[0].last_used_day == TODAY
        await store.authenticate(account.token_hash, NOW + 3 * DAY_SECONDS)
        assert (await store.get_account(account.id)).tokens[0].last_used_day == TODAY + 3

    async def test_revocation_is_effective_at_once(self, store: Store) -> None:
        account, ci = SimAccount.make(), SimAccount.make()
        await store.create_account(account.new_account(NOW))
        await store.add_token(account.id, ci.new_token(NOW, "ci"))
        await store.authenticate(ci.token_hash, NOW)
        await store.revoke_token(account.id, "ci")
        with pytest.raises(UnknownToken):
            await store.authenticate(ci.token_hash, NOW)
        assert (await store.authenticate(account.token_hash, NOW)).token_name == "default"
        assert [t.name for t in (await store.get_account(account.id)).tokens] == ["default"]
        with pytest.raises(NoSuchToken):
            await store.revoke_token(account.id, "ci")
        # The name is free again, for a new token.
        again = SimAccount.make()
        await store.add_token(account.id, again.new_token(NOW + 1, "ci"))
        assert (await store.authenticate(again.token_hash, NOW + 1)).token_name == "ci"
        with pytest.raises(UnknownToken):
            await store.authenticate(ci.token_hash, NOW + 1)

    async def test_concurrent_authentications_and_a_revocation(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        checks = [store.authenticate(account.token_hash, NOW + i) for i in range(16)]
        results = await asyncio.gather(
            *checks, store.revoke_token(account.id, "default"), return_exceptions=True
        )
        assert results[-1] is None  # the revocation
        # Each check saw the token either before the revocation or not at all.
        assert all(
            r == Principal(account.id, "default") or isinstance(r, UnknownToken)
            for r in results[:-1]
        )
        with pytest.raises(UnknownToken):
            await store.authenticate(account.token_hash, NOW + 20)
        assert (await store.get_account(account.id)).tokens == ()

    # -- delete -----------------------------------------------------------------------------

    async def test_delete_removes_account_tokens_and_links(self, store: Store) -> None:
        account, ci = SimAccount.make("carol@example.org"), SimAccount.make()
        await store.create_account(account.new_account(NOW))
        await store.add_token(account.id, ci.new_token(NOW, "ci"))
        receipt = os.urandom(32)
        secret = SimSecret.make()
        new = dataclasses.replace(
            secret.new_secret(NOW, receipt_hash=receipt), account_id=account.id
        )
        await store.create(new)
        assert len(await store.account_receipts(account.id, NOW, 10)) == 1
        await store.delete_account(account.id)
        for token_hash in (account.token_hash, ci.token_hash):
            with pytest.raises(UnknownToken):
                await store.authenticate(token_hash, NOW)
        with pytest.raises(NoSuchAccount):
            await store.find_account(account.email_key)
        with pytest.raises(NoSuchAccount):
            await store.get_account(account.id)
        with pytest.raises(NoSuchAccount):
            await store.delete_account(account.id)
        assert await store.list_accounts() == []
        assert await store.account_receipts(account.id, NOW, 10) == []
        # The secret lives on, unlinked: its receipt and its link still work.
        assert (await store.receipt_status(receipt, NOW)).state == "pending"
        assert (await store.reveal(secret.id, secret.link_check, None, NOW)).blob == secret.blob
        # The email is free again; the new account sees none of the old one's secrets.
        again = SimAccount.make("carol@example.org")
        await store.create_account(again.new_account(NOW + 1))
        assert (await store.find_account(again.email_key)).id == again.id
        assert await store.account_receipts(again.id, NOW + 1, 10) == []

    async def test_a_secret_of_a_deleted_account_is_not_linked(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        await store.delete_account(account.id)
        secret = await _linked(store, account, NOW)  # authenticated just before the delete
        assert (await store.peek(secret.id, secret.link_check, NOW)).views_left == 1
        assert await store.account_receipts(account.id, NOW, 10) == []

    # -- receipts of an account -------------------------------------------------------------

    async def test_account_receipts_list_own_secrets_newest_first(self, store: Store) -> None:
        alice, bob = SimAccount.make(), SimAccount.make()
        await store.create_account(alice.new_account(NOW))
        await store.create_account(bob.new_account(NOW))
        pending = await _linked(store, alice, NOW + 1)
        read = await _linked(store, alice, NOW + 2, views=2)
        burned = await _linked(store, alice, NOW + 3)
        expiring = await _linked(store, alice, NOW + 4, ttl=60)
        partly = await _linked(store, alice, NOW + 5, views=3)
        await _linked(store, bob, NOW + 6)
        await store.create(SimSecret.make().new_secret(NOW + 7))  # anonymous
        for _ in range(2):
            await store.reveal(read.id, read.link_check, None, NOW + 10)
        await store.reveal(partly.id, partly.link_check, None, NOW + 11)
        await store.burn(burned.id, burned.link_check, NOW + 12)
        listed = await store.account_receipts(alice.id, NOW + 100, 100)
        assert [r.id for r in listed] == [
            partly.id, expiring.id, burned.id, read.id, pending.id,
        ]  # fmt: skip
        by_id = {r.id: r for r in listed}
        assert (by_id[pending.id].state, by_id[pending.id].views_left) == ("pending", 1)
        assert (by_id[read.id].state, by_id[read.id].read_at) == ("read", NOW + 10)
        assert (by_id[burned.id].state, by_id[burned.id].burned_at) == ("burned", NOW + 12)
        assert (by_id[expiring.id].state, by_id[expiring.id].expires_at) == ("expired", NOW + 64)
        partly_read = by_id[partly.id]
        assert (partly_read.state, partly_read.views_left, partly_read.read_at) == (
            "pending", 2, NOW + 11,
        )  # fmt: skip
        assert [r.id for r in await store.account_receipts(alice.id, NOW + 100, 2)] == [
            partly.id,
            expiring.id,
        ]
        assert len(await store.account_receipts(bob.id, NOW + 100, 100)) == 1

    async def test_account_receipts_end_with_the_records(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        short = await _linked(store, account, NOW, ttl=60, grace=40)
        long = await _linked(store, account, NOW + 1, ttl=1000, grace=40)
        assert len(await store.account_receipts(account.id, NOW + 99, 10)) == 2
        assert [r.id for r in await store.account_receipts(account.id, NOW + 100, 10)] == [long.id]
        # Purged, then the id reused by somebody else: never listed for this account.
        await store.purge_expired(NOW + 100)
        reused = SimSecret(short.id, os.urandom(32), os.urandom(40))
        await store.create(reused.new_secret(NOW + 101))
        listed = await store.account_receipts(account.id, NOW + 101, 10)
        assert [r.id for r in listed] == [long.id]
        # A create refused with 409 links nothing more: the secret is listed once.
        taken = SimSecret(long.id, os.urandom(32), os.urandom(40))
        with pytest.raises(IdExists):
            await store.create(
                dataclasses.replace(taken.new_secret(NOW + 102), account_id=account.id)
            )
        assert [r.id for r in await store.account_receipts(account.id, NOW + 102, 10)] == [long.id]
        assert await store.account_receipts(account.id, NOW + 1041, 10) == []

    async def test_account_receipts_respect_the_limit_and_keep_times(self, store: Store) -> None:
        account = SimAccount.make()
        await store.create_account(account.new_account(NOW))
        made = [await _linked(store, account, NOW + i, ttl=60 + 100 * (i % 2)) for i in range(12)]
        # Even ones are kept until NOW + i + 660, odd ones until NOW + i + 760.
        listed = await store.account_receipts(account.id, NOW + 200, 5)
        assert [r.id for r in listed] == [s.id for s in reversed(made)][:5]
        everything = await store.account_receipts(account.id, NOW + 200, 1000)
        assert len(everything) == 12
        # Past the keep time of the even ones: only the odd ones are left.
        later = await store.account_receipts(account.id, NOW + 700, 1000)
        assert [r.id for r in later] == [s.id for s in reversed(made[1::2])]
