"""The request half of the store contract: a mixin of ``StoreContract``, so the one contract
suite runs it against every store (memory, SQLite, Redis, Redis Cluster). Time is passed to
every operation, so expiry is tested at exact seconds without sleeping."""

from __future__ import annotations

import asyncio
import os

import pytest

from ots_server.store import Answered, IdExists, NotFound, RequestGone, RequestInfo, Store

from .request_support import SimRequest, sealed_answer
from .support import START, SimSecret

NOW = START
WRONG = b"\x00" * 32


def _flip(check: bytes, index: int) -> bytes:
    return check[:index] + bytes([check[index] ^ 1]) + check[index + 1 :]


async def _gone(store: Store, request: SimRequest, now: int) -> list[tuple[str, int]]:
    """What every operation says about a request that is over: (state, at) four times."""
    found: list[tuple[str, int]] = []
    for operation in (
        store.peek_request(request.id, request.answer_check, now),
        store.answer_request(request.id, request.answer_check, sealed_answer(), now),
        store.request_status(request.id, request.owner_check, now),
        store.close_request(request.id, request.owner_check, now),
    ):
        with pytest.raises(RequestGone) as gone:
            await operation
        found.append((gone.value.state, gone.value.at))
    return found


async def _not_found_everywhere(store: Store, request: SimRequest, now: int) -> None:
    for operation in (
        store.peek_request(request.id, request.answer_check, now),
        store.answer_request(request.id, request.answer_check, sealed_answer(), now),
        store.request_status(request.id, request.owner_check, now),
        store.close_request(request.id, request.owner_check, now),
    ):
        with pytest.raises(NotFound):
            await operation


class RequestContract:
    """Subclasses provide a ``store`` fixture."""

    # -- create and peek --------------------------------------------------------------------

    async def test_create_then_peek_and_status_describe_an_open_request(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=600))
        expected = RequestInfo(request.id, NOW, NOW + 600, answered_at=None, sealed=None)
        peeked = await store.peek_request(request.id, request.answer_check, NOW + 1)
        assert (peeked, peeked.state) == (expected, "open")
        assert await store.request_status(request.id, request.owner_check, NOW + 1) == expected

    async def test_create_existing_id_is_refused_live_or_tombstone(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        other = SimRequest(request.id, os.urandom(32), os.urandom(32))
        with pytest.raises(IdExists):
            await store.create_request(other.new_request(NOW))
        await store.close_request(request.id, request.owner_check, NOW + 1)
        with pytest.raises(IdExists):
            await store.create_request(other.new_request(NOW + 2))
        # The first request's record is untouched by the refused creates.
        assert await _gone(store, request, NOW + 3) == [("closed", NOW + 1)] * 4

    async def test_request_ids_are_a_namespace_apart_from_secrets(self, store: Store) -> None:
        secret = SimSecret.make()
        await store.create(secret.new_secret(NOW))
        request = SimRequest(secret.id, os.urandom(32), os.urandom(32))
        await store.create_request(request.new_request(NOW))
        assert (await store.peek_request(request.id, request.answer_check, NOW)).state == "open"
        assert (await store.peek(secret.id, secret.link_check, NOW)).views_left == 1
        with pytest.raises(NotFound):  # a request proof opens no secret, and the reverse
            await store.peek(secret.id, request.answer_check, NOW)
        with pytest.raises(NotFound):
            await store.peek_request(request.id, secret.link_check, NOW)

    async def test_unknown_id_and_wrong_proofs_are_not_found(self, store: Store) -> None:
        request = SimRequest.make()
        await _not_found_everywhere(store, request, NOW)
        await store.create_request(request.new_request(NOW))
        crossed = SimRequest(request.id, request.owner_proof, request.answer_proof)
        wrong = SimRequest(request.id, os.urandom(32), os.urandom(32))
        for impostor in (crossed, wrong):
            # The owner proof neither peeks nor answers; the answer proof neither reads the
            # status nor closes.
            await _not_found_everywhere(store, impostor, NOW)
        for index in (0, 31):  # one bit off, first byte or last: still nothing
            with pytest.raises(NotFound):
                await store.peek_request(request.id, _flip(request.answer_check, index), NOW)
            with pytest.raises(NotFound):
                await store.request_status(request.id, _flip(request.owner_check, index), NOW)
        peeked = await store.peek_request(request.id, request.answer_check, NOW)
        assert peeked.state == "open"

    # -- answer -----------------------------------------------------------------------------

    async def test_answer_once_then_status_reads_it(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=600))
        sealed = sealed_answer()
        answered = await store.answer_request(request.id, request.answer_check, sealed, NOW + 5)
        assert (answered.answered_at, answered.expires_at, answered.state) == (
            NOW + 5,
            NOW + 600,
            "answered",
        )
        peeked = await store.peek_request(request.id, request.answer_check, NOW + 6)
        assert (peeked.state, peeked.answered_at, peeked.sealed) == ("answered", NOW + 5, None)
        status = await store.request_status(request.id, request.owner_check, NOW + 6)
        assert (status.state, status.answered_at, status.sealed) == ("answered", NOW + 5, sealed)
        assert (status.created_at, status.expires_at) == (NOW, NOW + 600)

    async def test_second_answer_is_refused_and_changes_nothing(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        first = sealed_answer()
        await store.answer_request(request.id, request.answer_check, first, NOW + 1)
        for later in (NOW + 1, NOW + 9):
            with pytest.raises(Answered) as answered:
                await store.answer_request(request.id, request.answer_check, sealed_answer(), later)
            assert answered.value.at == NOW + 1
        status = await store.request_status(request.id, request.owner_check, NOW + 10)
        assert (status.sealed, status.answered_at) == (first, NOW + 1)

    async def test_wrong_proof_answer_changes_nothing(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        for check in (WRONG, request.owner_check, _flip(request.answer_check, 31)):
            with pytest.raises(NotFound):
                await store.answer_request(request.id, check, sealed_answer(), NOW)
        status = await store.request_status(request.id, request.owner_check, NOW)
        assert (status.state, status.sealed) == ("open", None)
        sealed = sealed_answer()
        await store.answer_request(request.id, request.answer_check, sealed, NOW)
        assert (await store.request_status(request.id, request.owner_check, NOW)).sealed == sealed

    async def test_concurrent_answers_store_exactly_one(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        answers = [sealed_answer() for _ in range(32)]
        results = await asyncio.gather(
            *(store.answer_request(request.id, request.answer_check, s, NOW) for s in answers),
            return_exceptions=True,
        )
        won = [answers[i] for i, r in enumerate(results) if isinstance(r, RequestInfo)]
        assert len(won) == 1
        refused = [r for r in results if not isinstance(r, RequestInfo)]
        assert len(refused) == 31
        assert all(isinstance(r, Answered) and r.at == NOW for r in refused)
        status = await store.request_status(request.id, request.owner_check, NOW)
        assert status.sealed == won[0]

    # -- expiry -----------------------------------------------------------------------------

    async def test_expiry_at_exactly_expires_at(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=60))
        assert (
            await store.peek_request(request.id, request.answer_check, NOW + 59)
        ).state == "open"
        assert await _gone(store, request, NOW + 60) == [("expired", NOW + 60)] * 4
        await _not_found_everywhere(store, SimRequest(request.id, WRONG, WRONG), NOW + 61)
        # Expired for good: the clock going back does not bring it back (a write saw it).
        assert await _gone(store, request, NOW + 1) == [("expired", NOW + 60)] * 4

    async def test_an_answer_expires_with_its_request(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=60))
        await store.answer_request(request.id, request.answer_check, sealed_answer(), NOW + 59)
        status = await store.request_status(request.id, request.owner_check, NOW + 59)
        assert status.state == "answered"
        with pytest.raises(RequestGone) as gone:
            await store.request_status(request.id, request.owner_check, NOW + 60)
        assert (gone.value.state, gone.value.at) == ("expired", NOW + 60)
        with pytest.raises(RequestGone) as gone:  # expiry before "answered": 410, not 409
            await store.answer_request(request.id, request.answer_check, sealed_answer(), NOW + 60)
        assert gone.value.state == "expired"
        assert await _gone(store, request, NOW + 30) == [("expired", NOW + 60)] * 4

    # -- close ------------------------------------------------------------------------------

    @pytest.mark.parametrize("answered", [False, True])
    async def test_close_leaves_a_closed_tombstone(self, store: Store, answered: bool) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=600))
        if answered:
            await store.answer_request(request.id, request.answer_check, sealed_answer(), NOW)
        assert await store.close_request(request.id, request.owner_check, NOW + 7) == NOW + 7
        assert await _gone(store, request, NOW + 8) == [("closed", NOW + 7)] * 4
        # Still closed after its expiry, until keep_until; hidden from wrong proofs.
        assert await _gone(store, request, NOW + 700) == [("closed", NOW + 7)] * 4
        await _not_found_everywhere(store, SimRequest(request.id, WRONG, WRONG), NOW + 8)

    async def test_wrong_owner_proof_closes_nothing(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW))
        for check in (WRONG, request.answer_check):
            with pytest.raises(NotFound):
                await store.close_request(request.id, check, NOW)
        assert (await store.peek_request(request.id, request.answer_check, NOW)).state == "open"

    async def test_close_of_an_expired_request_reports_expired(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=60))
        with pytest.raises(RequestGone) as gone:
            await store.close_request(request.id, request.owner_check, NOW + 100)
        assert (gone.value.state, gone.value.at) == ("expired", NOW + 60)

    # -- tombstones, purge and sweep ---------------------------------------------------------

    async def test_tombstone_is_purged_after_the_grace(self, store: Store) -> None:
        request = SimRequest.make()
        await store.create_request(request.new_request(NOW, ttl=60, grace=40))
        await store.close_request(request.id, request.owner_check, NOW)
        assert await _gone(store, request, NOW + 99) == [("closed", NOW)] * 4
        # Past keep_until a record is absent, before any purge runs.
        await _not_found_everywhere(store, request, NOW + 100)
        with pytest.raises(IdExists):
            await store.create_request(request.new_request(NOW + 99))
        await store.create_request(request.new_request(NOW + 100))  # the id is free again
        peeked = await store.peek_request(request.id, request.answer_check, NOW + 100)
        assert (peeked.state, peeked.created_at) == ("open", NOW + 100)

    async def test_purge_ends_expired_requests_then_forgets_them(self, store: Store) -> None:
        live, expiring, answered = SimRequest.make(), SimRequest.make(), SimRequest.make()
        await store.create_request(live.new_request(NOW, ttl=1000, grace=100))
        await store.create_request(expiring.new_request(NOW, ttl=60, grace=100))
        await store.create_request(answered.new_request(NOW, ttl=60, grace=100))
        await store.answer_request(answered.id, answered.answer_check, sealed_answer(), NOW)
        result = await store.purge_expired(NOW + 60)
        assert (result.requests_expired, result.requests_purged) == (2, 0)
        assert (result.expired, result.purged) == (0, 0)
        for request in (expiring, answered):
            assert await _gone(store, request, NOW + 60) == [("expired", NOW + 60)] * 4
        result = await store.purge_expired(NOW + 160)
        assert (result.requests_expired, result.requests_purged) == (0, 2)
        for request in (expiring, answered):
            await _not_found_everywhere(store, request, NOW + 160)
        await store.create_request(expiring.new_request(NOW + 200))
        assert (await store.peek_request(live.id, live.answer_check, NOW + 200)).state == "open"
        result = await store.purge_expired(NOW + 200)
        assert (result.requests_expired, result.requests_purged) == (0, 0)
