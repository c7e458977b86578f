"""The account endpoints of ``/api/v1``: who a token speaks for, and its account's receipts.

Both need a valid token (:mod:`ots_server.middleware.auth` has already refused a bad one);
without one they answer ``401 unauthorized`` with ``WWW-Authenticate: Bearer realm="ots"``. The
answers hold the account's email, its limits and its token names, created times and last-used
days, never a token or a token hash, and the account id never leaves the server.

``GET /api/v1/account/receipts`` lists the secrets created with the account's tokens whose
records still exist (until their expiry plus the receipt grace), newest first, in the shape of
``POST /api/v1/receipts/status``. ``?limit=N`` (1..1000, default 100) is the only query
parameter; anything else in the query string is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ots_server.accounts import day_text
from ots_server.api import receipt_body
from ots_server.errors import bad_request
from ots_server.limits import Limits
from ots_server.middleware.auth import principal, token_required
from ots_server.settings import Settings
from ots_server.store import Principal, Store

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_LIMIT = re.compile(r"[1-9][0-9]{0,3}")


def _limit(request: Request) -> int:
    params = request.query_params
    if not set(params) <= {"limit"}:
        raise bad_request("unknown query parameter; allowed: limit")
    values = params.getlist("limit")
    if not values:
        return DEFAULT_LIMIT
    if len(values) != 1 or _LIMIT.fullmatch(values[0]) is None or int(values[0]) > MAX_LIMIT:
        raise bad_request(f"limit: expected an integer 1..{MAX_LIMIT}")
    return int(values[0])


class AccountApi:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    @staticmethod
    def _principal(request: Request) -> Principal:
        found = principal(request.scope)
        if found is None:
            raise token_required()
        return found

    async def account(self, request: Request) -> Response:
        caller = self._principal(request)
        # A NoSuchAccount (deleted since the token was checked) is the bad token's 401
        # (ots_server.outcomes).
        account = await self.store.get_account(caller.account_id)
        limits = Limits.for_caller(self.settings, account=True).published(self.settings)
        tokens = [
            {
                "name": token.name,
                "created_at": token.created_at,
                "last_used": None if token.last_used_day is None else day_text(token.last_used_day),
            }
            for token in account.tokens
        ]
        return JSONResponse(
            {
                "email": account.email,
                "created_at": account.created_at,
                "limits": limits,
                "tokens": tokens,
            }
        )

    async def receipts(self, request: Request) -> Response:
        caller = self._principal(request)
        limit = _limit(request)
        statuses = await self.store.account_receipts(caller.account_id, int(self.clock()), limit)
        return JSONResponse({"receipts": [receipt_body(status) for status in statuses]})
