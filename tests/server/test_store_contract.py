"""The store contract: one test class every store implementation must pass.

``StoreContract`` holds the tests; a subclass per implementation provides the ``store``
fixture (a fresh, empty store). The Redis store reuses it by adding one subclass. Time is
passed explicitly to every operation, so expiry is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ots_server.store import (
    BindingRequired,
    Gone,
    IdExists,
    NotFound,
    PassphraseRequired,
    ReceiptStatus,
    Store,
    StoreUnavailable,
    WrongPassphrase,
)
from ots_server.store.memory.store import MemoryStore
from ots_server.store.sqlite.store import SQLiteStore

from .account_contract import AccountContract
from .request_contract import RequestContract
from .support import START, SimSecret, content

pytestmark = pytest.mark.anyio
NOW = START
WRONG = b"\x00" * 32


class StoreContract(AccountContract, RequestContract):
    """Subclasses provide a ``store`` fixture; the account tests are in ``AccountContract``,
    the request tests in ``RequestContract``."""

    # -- create and peek --------------------------------------------------------------------

    async def test_create_then_peek_describes_the_secret(self, store: Store) -> None:
        secret = SimSecret.make(100)
        await store.create(secret.new_secret(NOW, ttl=60, views=3))
        info = await store.peek(secret.id, secret.link_check, NOW)
        assert info.id == secret.id
        assert info.header == secret.blob[: secret.header_length]
        assert info.size == 100
        assert (info.created_at, info.expires_at) == (NOW, NOW + 60)
        assert info.views_left == 3
        assert info.passphrase is False
        assert info.attempts_left is None

    async def test_peek_of_passphrase_secret_reports_attempts(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=4))
        info = await store.peek(secret.id, secret.link_check, NOW)
        assert info.passphrase is True
        assert info.attempts_left == 4

    @pytest.mark.parametrize("kind", [bytearray, memoryview])
    async def test_create_takes_any_buffer_and_reveals_bytes(self, store: Store, kind: Any) -> None:
        secret = SimSecret.make(150_000)
        new = secret.new_secret(NOW)
        await store.create(dataclasses.replace(new, blob=kind(bytearray(secret.blob))))
        assert (await store.peek(secret.id, secret.link_check, NOW)).size == 150_000
        revealed = await store.reveal(secret.id, secret.link_check, None, NOW)
        assert type(revealed.blob) is bytes
        assert content(revealed) == secret.blob

    async def test_create_existing_id_is_refused(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        with pytest.raises(IdExists):
            await store.create(SimSecret(secret.id, os.urandom(32), b"x" * 9).new_secret(NOW))
        info = await store.peek(secret.id, secret.link_check, NOW)
        assert info.size == len(secret.blob)

    async def test_create_over_a_tombstone_is_refused(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        await store.reveal(secret.id, secret.link_check, None, NOW)
        with pytest.raises(IdExists):
            await store.create(secret.new_secret(NOW))

    async def test_unknown_id_and_wrong_check_are_not_found(self, store: Store) -> None:
        secret = SimSecret.make()
        with pytest.raises(NotFound):
            await store.peek(secret.id, secret.link_check, NOW)
        await store.create(secret.new_secret(NOW))
        with pytest.raises(NotFound):
            await store.peek(secret.id, WRONG, NOW)

    # -- reveal -----------------------------------------------------------------------------

    async def test_reveal_returns_blob_once_then_gone(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        revealed = await store.reveal(secret.id, secret.link_check, None, NOW + 5)
        assert (content(revealed), revealed.views_left) == (secret.blob, 0)
        for operation in (
            store.reveal(secret.id, secret.link_check, None, NOW + 6),
            store.peek(secret.id, secret.link_check, NOW + 6),
            store.burn(secret.id, secret.link_check, NOW + 6),
        ):
            with pytest.raises(Gone) as gone:
                await operation
            assert (gone.value.state, gone.value.at) == ("consumed", NOW + 5)

    async def test_tombstone_is_hidden_from_a_wrong_check(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        await store.reveal(secret.id, secret.link_check, None, NOW)
        with pytest.raises(NotFound):
            await store.reveal(secret.id, WRONG, None, NOW)
        with pytest.raises(NotFound):
            await store.peek(secret.id, WRONG, NOW)

    async def test_wrong_link_check_changes_nothing(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=2))
        for _ in range(5):
            with pytest.raises(NotFound):
                await store.reveal(secret.id, WRONG, WRONG, NOW)
            with pytest.raises(NotFound):
                await store.burn(secret.id, WRONG, NOW)
        info = await store.peek(secret.id, secret.link_check, NOW)
        assert (info.views_left, info.attempts_left) == (1, 2)
        revealed = await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW)
        assert content(revealed) == secret.blob

    async def test_views_count_down_then_consumed(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW, views=3))
        lefts = [
            (await store.reveal(secret.id, secret.link_check, None, NOW + i)).views_left
            for i in range(3)
        ]
        assert lefts == [2, 1, 0]
        with pytest.raises(Gone) as gone:
            await store.reveal(secret.id, secret.link_check, None, NOW + 9)
        assert (gone.value.state, gone.value.at) == ("consumed", NOW + 2)

    async def test_peek_changes_nothing(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        for _ in range(20):
            assert (await store.peek(secret.id, secret.link_check, NOW)).views_left == 1
        assert content(await store.reveal(secret.id, secret.link_check, None, NOW)) == secret.blob

    async def test_concurrent_reveals_release_once(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        results = await asyncio.gather(
            *(store.reveal(secret.id, secret.link_check, None, NOW) for _ in range(32)),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, Gone) for r in results if isinstance(r, BaseException))

    # -- expiry -----------------------------------------------------------------------------

    async def test_expiry_is_checked_on_every_read(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW, ttl=60))
        assert (await store.peek(secret.id, secret.link_check, NOW + 59)).views_left == 1
        with pytest.raises(Gone) as gone:
            await store.peek(secret.id, secret.link_check, NOW + 60)
        assert (gone.value.state, gone.value.at) == ("expired", NOW + 60)
        with pytest.raises(Gone) as gone:
            await store.reveal(secret.id, secret.link_check, None, NOW + 61)
        assert (gone.value.state, gone.value.at) == ("expired", NOW + 60)
        with pytest.raises(NotFound):
            await store.reveal(secret.id, WRONG, None, NOW + 61)
        # Expired for good: the clock going back does not bring it back.
        with pytest.raises(Gone):
            await store.reveal(secret.id, secret.link_check, None, NOW + 1)

    async def test_burn_of_expired_reports_expired(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW, ttl=60))
        with pytest.raises(Gone) as gone:
            await store.burn(secret.id, secret.link_check, NOW + 100)
        assert gone.value.state == "expired"

    async def test_purge_turns_expired_into_tombstones_then_forgets(self, store: Store) -> None:
        live, expiring = SimSecret.make(), SimSecret.make()
        await store.create(live.new_secret(NOW, ttl=1000, grace=100))
        await store.create(expiring.new_secret(NOW, ttl=60, grace=100))
        result = await store.purge_expired(NOW + 60)
        assert (result.expired, result.purged) == (1, 0)
        with pytest.raises(Gone) as gone:
            await store.peek(expiring.id, expiring.link_check, NOW + 60)
        assert gone.value.state == "expired"
        result = await store.purge_expired(NOW + 160)
        assert (result.expired, result.purged) == (0, 1)
        with pytest.raises(NotFound):
            await store.peek(expiring.id, expiring.link_check, NOW + 160)
        # The id is free again once its record is purged.
        await store.create(expiring.new_secret(NOW + 200))
        assert (await store.peek(live.id, live.link_check, NOW + 200)).views_left == 1

    async def test_record_past_keep_until_is_absent_before_purge(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW, ttl=60, grace=40))
        await store.reveal(secret.id, secret.link_check, None, NOW)
        with pytest.raises(Gone):
            await store.peek(secret.id, secret.link_check, NOW + 99)
        with pytest.raises(NotFound):
            await store.peek(secret.id, secret.link_check, NOW + 100)
        with pytest.raises(IdExists):
            await store.create(secret.new_secret(NOW + 99))
        await store.create(secret.new_secret(NOW + 100))  # the id is free again
        assert (await store.peek(secret.id, secret.link_check, NOW + 100)).views_left == 1

    # -- bindings (CI identity) -------------------------------------------------------------

    async def test_binding_round_trips_and_gates_the_reveal(self, store: Store) -> None:
        bound = "github:octo-org/app@refs/heads/main:production"
        secret = SimSecret.make(passphrase=True)
        await store.create(dataclasses.replace(secret.new_secret(NOW, views=2), binding=bound))
        info = await store.peek(secret.id, secret.link_check, NOW)
        assert info.binding == bound
        # Without the verified binding, or with another one: refused, nothing spent (not even
        # a passphrase attempt, although the passphrase check is wrong).
        for presented in (None, "github:octo-org/app", bound + "x"):
            with pytest.raises(BindingRequired):
                await store.reveal(secret.id, secret.link_check, WRONG, NOW, presented)
        after = await store.peek(secret.id, secret.link_check, NOW)
        assert (after.views_left, after.attempts_left) == (2, 3)
        # A wrong link check is still the indistinguishable NotFound, before the binding.
        with pytest.raises(NotFound):
            await store.reveal(secret.id, WRONG, secret.passphrase_check, NOW, None)
        revealed = await store.reveal(
            secret.id, secret.link_check, secret.passphrase_check, NOW, bound
        )
        assert content(revealed) == secret.blob
        assert (await store.peek(secret.id, secret.link_check, NOW)).views_left == 1

    async def test_unbound_secret_ignores_a_presented_binding(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        assert (await store.peek(secret.id, secret.link_check, NOW)).binding is None
        revealed = await store.reveal(secret.id, secret.link_check, None, NOW, "gitlab:a/b")
        assert content(revealed) == secret.blob

    async def test_concurrent_bound_reveals_release_once(self, store: Store) -> None:
        bound = "gitlab:group/sub/project@main"
        secret = SimSecret.make()
        await store.create(dataclasses.replace(secret.new_secret(NOW), binding=bound))
        results = await asyncio.gather(
            *(store.reveal(secret.id, secret.link_check, None, NOW, bound) for _ in range(8)),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, Gone) for r in results if isinstance(r, BaseException))

    # -- passphrase attempts ----------------------------------------------------------------

    async def test_missing_passphrase_spends_nothing(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=3))
        for _ in range(5):
            with pytest.raises(PassphraseRequired) as required:
                await store.reveal(secret.id, secret.link_check, None, NOW)
            assert required.value.attempts_left == 3
        assert (await store.peek(secret.id, secret.link_check, NOW)).attempts_left == 3

    async def test_wrong_passphrase_spends_one_and_the_last_burns(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=3))
        for left in (2, 1):
            with pytest.raises(WrongPassphrase) as wrong:
                await store.reveal(secret.id, secret.link_check, WRONG, NOW)
            assert (wrong.value.attempts_left, wrong.value.burned) == (left, False)
            assert (await store.peek(secret.id, secret.link_check, NOW)).attempts_left == left
        with pytest.raises(WrongPassphrase) as wrong:
            await store.reveal(secret.id, secret.link_check, WRONG, NOW + 7)
        assert (wrong.value.attempts_left, wrong.value.burned) == (0, True)
        with pytest.raises(Gone) as gone:
            await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW + 8)
        assert (gone.value.state, gone.value.at) == ("burned", NOW + 7)

    async def test_right_passphrase_after_wrong_ones_reveals(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=3))
        with pytest.raises(WrongPassphrase):
            await store.reveal(secret.id, secret.link_check, WRONG, NOW)
        revealed = await store.reveal(secret.id, secret.link_check, secret.passphrase_check, NOW)
        assert content(revealed) == secret.blob

    async def test_concurrent_wrong_attempts_never_go_below_zero(self, store: Store) -> None:
        secret = SimSecret.make(passphrase=True)
        await store.create(secret.new_secret(NOW, attempts=4))
        results = await asyncio.gather(
            *(store.reveal(secret.id, secret.link_check, WRONG, NOW) for _ in range(16)),
            return_exceptions=True,
        )
        wrong = sorted(
            (r.attempts_left, r.burned) for r in results if isinstance(r, WrongPassphrase)
        )
        assert wrong == [(0, True), (1, False), (2, False), (3, False)]
        assert sum(isinstance(r, Gone) and r.state == "burned" for r in results) == 12

    # -- burn and receipts ------------------------------------------------------------------

    async def test_burn_by_link(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        tombstone = await store.burn(secret.id, secret.link_check, NOW + 3)
        assert (tombstone.state, tombstone.at) == ("burned", NOW + 3)
        with pytest.raises(Gone) as gone:
            await store.reveal(secret.id, secret.link_check, None, NOW + 4)
        assert (gone.value.state, gone.value.at) == ("burned", NOW + 3)

    async def test_receipt_follows_the_lifecycle(self, store: Store) -> None:
        secret = SimSecret.make()
        receipt = os.urandom(32)
        await store.create(secret.new_secret(NOW, views=2, receipt_hash=receipt))
        status = await store.receipt_status(receipt, NOW)
        assert (status.id, status.state, status.views, status.views_left) == (
            secret.id,
            "pending",
            2,
            2,
        )
        assert (status.read_at, status.burned_at) == (None, None)
        await store.reveal(secret.id, secret.link_check, None, NOW + 1)
        status = await store.receipt_status(receipt, NOW + 1)
        assert (status.state, status.views_left, status.read_at) == ("pending", 1, NOW + 1)
        await store.reveal(secret.id, secret.link_check, None, NOW + 2)
        status = await store.receipt_status(receipt, NOW + 2)
        assert (status.state, status.views_left, status.read_at) == ("read", 0, NOW + 2)
        # Burn after the read is idempotent and reports the read.
        status = await store.burn_by_receipt(receipt, NOW + 3)
        assert (status.state, status.burned_at) == ("read", None)

    async def test_burn_by_receipt(self, store: Store) -> None:
        secret = SimSecret.make()
        receipt = os.urandom(32)
        await store.create(secret.new_secret(NOW, receipt_hash=receipt))
        status = await store.burn_by_receipt(receipt, NOW + 4)
        assert (status.state, status.burned_at, status.read_at) == ("burned", NOW + 4, None)
        again = await store.burn_by_receipt(receipt, NOW + 9)
        assert (again.state, again.burned_at) == ("burned", NOW + 4)
        with pytest.raises(Gone) as gone:
            await store.reveal(secret.id, secret.link_check, None, NOW + 5)
        assert gone.value.state == "burned"

    async def test_receipt_of_expired_secret(self, store: Store) -> None:
        secret = SimSecret.make()
        receipt = os.urandom(32)
        await store.create(secret.new_secret(NOW, ttl=60, grace=30, receipt_hash=receipt))
        assert (await store.receipt_status(receipt, NOW + 60)).state == "expired"
        burned = await store.burn_by_receipt(receipt, NOW + 61)
        assert (burned.state, burned.burned_at) == ("expired", None)
        with pytest.raises(Gone) as gone:
            await store.peek(secret.id, secret.link_check, NOW + 61)
        assert (gone.value.state, gone.value.at) == ("expired", NOW + 60)
        with pytest.raises(NotFound):
            await store.receipt_status(receipt, NOW + 90)

    async def test_unknown_receipt_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            await store.receipt_status(os.urandom(32), NOW)
        with pytest.raises(NotFound):
            await store.burn_by_receipt(os.urandom(32), NOW)

    async def test_receipt_statuses_answer_as_receipt_status_does(self, store: Store) -> None:
        """One call for many receipts: in order, duplicates repeated, and ``None`` exactly
        where ``receipt_status`` says ``NotFound`` (unknown and purged alike)."""
        hashes = {name: os.urandom(32) for name in ("partly", "read", "burned", "expired", "gone")}
        partly, read = SimSecret.make(), SimSecret.make()
        await store.create(partly.new_secret(NOW, views=2, receipt_hash=hashes["partly"]))
        await store.create(read.new_secret(NOW, receipt_hash=hashes["read"]))
        await store.create(SimSecret.make().new_secret(NOW, receipt_hash=hashes["burned"]))
        await store.create(SimSecret.make().new_secret(NOW, ttl=60, receipt_hash=hashes["expired"]))
        gone = SimSecret.make().new_secret(NOW, ttl=60, grace=30, receipt_hash=hashes["gone"])
        await store.create(gone)
        await store.reveal(partly.id, partly.link_check, None, NOW + 1)
        await store.reveal(read.id, read.link_check, None, NOW + 2)
        await store.burn_by_receipt(hashes["burned"], NOW + 3)
        unknown = os.urandom(32)
        asked = [*hashes.values(), unknown, hashes["read"]]
        answers = await store.receipt_statuses(asked, NOW + 100)
        expected: list[ReceiptStatus | None] = []
        for receipt_hash in asked:
            try:
                expected.append(await store.receipt_status(receipt_hash, NOW + 100))
            except NotFound:
                expected.append(None)
        assert answers == expected
        states = [None if a is None else (a.state, a.read_at, a.burned_at) for a in answers]
        assert states == [
            ("pending", NOW + 1, None),
            ("read", NOW + 2, None),
            ("burned", None, NOW + 3),
            ("expired", None, None),
            None,
            None,
            ("read", NOW + 2, None),
        ]
        assert await store.receipt_statuses([], NOW) == []

    # -- health -----------------------------------------------------------------------------

    async def test_check_answers_then_close_makes_it_unavailable(self, store: Store) -> None:
        await store.check()
        assert (await store.maintenance()).complete  # nothing in the way of an idle store
        await store.close()
        with pytest.raises(StoreUnavailable):
            await store.check()
        with pytest.raises(StoreUnavailable):
            await store.peek(os.urandom(16), WRONG, NOW)
        with pytest.raises(StoreUnavailable):
            await store.maintenance()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SQLiteStore(tmp_path / "contract.sqlite3")
        try:
            yield store
        finally:
            store.close_sync()


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()
