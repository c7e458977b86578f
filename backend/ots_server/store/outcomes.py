"""The outcomes a store reports other than success: every one is an exception, so a handler
calls one store method and the app maps each outcome to exactly one HTTP answer (the exception
handlers registered by :func:`ots_server.app.create_app`, see :mod:`ots_server.outcomes`).
An outcome's message is fixed text or a state name: never an id, a verifier or a token.
"""

from __future__ import annotations

from ots_server.store.records import RequestEnd, TombstoneState


class StoreError(Exception):
    """Base of store outcomes and failures."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or failed; the request may be retried later (503)."""


class StoreFull(StoreError):
    """The store refused to grow: its configured quota or the disk is full (507)."""


class IdExists(StoreError):
    """Create with an id that exists or still has a tombstone or receipt."""


class NotFound(StoreError):
    """Unknown id, wrong link check, or purged; indistinguishable on purpose."""


class Gone(StoreError):
    """The link check matched a tombstone: the secret was consumed, burned or expired."""

    def __init__(self, state: TombstoneState, at: int) -> None:
        super().__init__(state)
        self.state: TombstoneState = state
        self.at = at


class RequestGone(StoreError):
    """The proof matched a request that is over: expired (its answer too) or closed."""

    def __init__(self, state: RequestEnd, at: int) -> None:
        super().__init__(state)
        self.state: RequestEnd = state
        self.at = at


class Answered(StoreError):
    """An answer to a request that already has one (stored at ``at``); nothing changed."""

    def __init__(self, at: int) -> None:
        super().__init__("answered")
        self.at = at


class PassphraseRequired(StoreError):
    """Reveal of a passphrase secret without a passphrase check; nothing was spent."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__("passphrase required")
        self.attempts_left = attempts_left


class BindingRequired(StoreError):
    """Reveal of a secret bound to a CI identity without a verified ID token for exactly its
    binding: nothing changed (no view, no passphrase attempt spent)."""


class AccountExists(StoreError):
    """``create_account`` with an email (compared case-insensitively) that has an account."""


class NoSuchAccount(StoreError):
    """No account has this id or email (or it was deleted)."""


class TokenNameExists(StoreError):
    """``add_token`` with a name the account already uses."""


class NoSuchToken(StoreError):
    """``revoke_token`` with a name the account does not have."""


class UnknownToken(StoreError):
    """``authenticate`` with a token hash the store does not know (never issued, or revoked)."""


class WrongPassphrase(StoreError):
    """A wrong passphrase check: one attempt spent; ``burned`` when it was the last."""

    def __init__(self, attempts_left: int, *, burned: bool) -> None:
        super().__init__("wrong passphrase")
        self.attempts_left = attempts_left
        self.burned = burned
