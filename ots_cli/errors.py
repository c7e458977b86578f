"""The one exception tree of ots, and the exit code each error maps to.

Every failure that reaches a command is an :class:`OtsError`. Foreign exceptions (httpx,
keyring, nacl, OSError) are translated where they enter, with ``raise ... from exc``; nothing
else escapes to the command layer. ``ots_cli.__main__.main`` is the only place that catches
these, prints them and turns them into an exit status.

    OtsError                      message + hints; .exit_code
    ├── UsageError                 2  bad flags, missing input, wrong kind of argument
    │   ├── BadLink                2  a link or id#key that does not parse
    │   │   └── InsecureHttp       2  plain http:// to a remote host without --insecure
    │   └── PassphraseRequired     2  the secret needs a passphrase and none can be asked for
    ├── ConfigError                3  a bad config file, setting or environment variable
    ├── AuthError                  4  authentication required or rejected
    ├── NotFound                   5  unknown id, or the key does not match
    ├── SecretGone                 6  consumed or burned: someone else may have read it
    │   └── RequestAnswered        6  a request that already has its answer (``ots respond``)
    ├── SecretExpired              7  expired before it was read
    │   └── RequestOver            7  a request that expired (or was closed) unanswered
    ├── CryptoError                8  the core refuses or cannot authenticate the data
    │   ├── FormatError            8  malformed header, envelope or padding
    │   ├── UnsupportedVersion     8  a version, suite or flag this client does not know
    │   ├── DecryptionFailed       8  authentication failed: tampered, truncated, wrong key
    │   ├── KdfParamsRefused       8  Argon2id parameters outside the accepted bounds
    │   ├── WeakKdf                8  a passphrase cost below the default writer cost
    │   └── TamperedAnswer         8  a request's sealed answer that does not open
    ├── Unavailable                9  network error or server unavailable (retryable)
    │   ├── ProtocolError          9  an answer the API does not allow (not an ots server?)
    │   └── WaitTimedOut           9  ``share --wait --timeout`` ran out; the secret is unread
    ├── PolicyRefused             10  too large, TTL or views out of range, rate limited
    ├── WrongPassphrase           11  wrong passphrase; .attempts_left says how many remain
    ├── TransferLost              12  consumed on the server, but cut off on the way: it is gone
    ├── Declined                  13  the user answered no to "Reveal it now?": nothing consumed
    └── Cancelled                130  the user pressed Ctrl-C

Three exit codes have no error class: 0 (success), 1 (an exception that is not an
:class:`OtsError`: a bug) and 141 (stdout closed early, a broken pipe: silent, as other Unix
tools exit). :class:`ExitCode` is the one map of ots's exit codes; no other module writes an
exit status as a number, and README.md's "Exit codes" table lists exactly its members (a test
compares them). ``ots run`` exits with its command's own status instead (128+N when signal N
killed it, :data:`SIGNALLED`).

The invariant: an error's message and hints never contain a secret, a key, a proof, a token
or a passphrase. Messages are lowercase without a trailing period; main() prefixes them with
``ots: error:`` and each hint with ``ots: hint:``. :class:`Declined` is the exception: it is
no failure, so main() shows its message as a plain ``ots: note:``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status of ots (README.md, "Exit codes")."""

    OK = 0
    BUG = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    NOT_FOUND = 5
    GONE = 6
    EXPIRED = 7
    INTEGRITY = 8
    UNAVAILABLE = 9
    REFUSED = 10
    WRONG_PASSPHRASE = 11
    LOST = 12
    DECLINED = 13
    INTERRUPTED = 130
    BROKEN_PIPE = 141


#: A command ``ots run`` started that signal N killed gives the status ``SIGNALLED + N``, as a
#: shell reports it.
SIGNALLED = 128


class OtsError(Exception):
    """Base of every error ots reports to the user."""

    exit_code: ExitCode = ExitCode.BUG
    #: A stable machine-readable name used in ``--json`` error output.
    code: str = "error"

    def __init__(self, message: str, *, hints: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hints: tuple[str, ...] = tuple(hints)

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, object]:
        """Extra machine-readable fields for ``--json`` error output (never secret values)."""
        return {}


class UsageError(OtsError):
    exit_code = ExitCode.USAGE
    code = "usage"


class BadLink(UsageError):
    code = "bad_link"


class InsecureHttp(BadLink):
    """Plain ``http://`` to a host that is not this machine, without ``--insecure``: a link's
    server and the configured server alike, with one message and one hint. Refused before any
    connection. A :class:`BadLink` because a link with such a server is one no reader accepts
    by default (the spec's link vectors say so); a usage error because the cure is a flag of
    this command (docs/decisions.md)."""

    code = "insecure_http"

    def __init__(self) -> None:
        super().__init__(
            "refusing plain http:// to a host that is not this machine",
            hints=(
                "use https://, or pass --insecure if you accept that the secret id and the "
                "proofs travel readable (the key stays in the link either way)",
            ),
        )


class PassphraseRequired(UsageError):
    """The secret is protected by a passphrase and none was given or could be asked for."""

    code = "passphrase_required"


class ConfigError(OtsError):
    exit_code = ExitCode.CONFIG
    code = "config"


class AuthError(OtsError):
    exit_code = ExitCode.AUTH
    code = "auth"


class IdTokenRequired(AuthError):
    """A secret bound to a CI identity, asked for without an ID token. ``binding``: the
    canonical binding the server named (whom the secret is for), or ``None``."""

    def __init__(
        self, message: str, *, binding: str | None = None, hints: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hints=hints)
        self.binding = binding


class NotFound(OtsError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class SecretGone(OtsError):
    """Consumed or burned. ``state`` is ``"consumed"`` or ``"burned"``; ``at`` a Unix time."""

    exit_code = ExitCode.GONE
    code = "gone"

    def __init__(
        self,
        message: str,
        *,
        state: str = "consumed",
        at: int | None = None,
        hints: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message, hints=hints)
        self.state = state
        self.at = at

    def details(self) -> dict[str, object]:
        return {"state": self.state, "at": self.at}


class RequestAnswered(SecretGone):
    """A request that already has its answer: ``ots respond`` cannot answer it again (the
    server takes one answer per request). ``state`` is ``"answered"``."""

    def __init__(
        self, message: str, *, at: int | None = None, hints: tuple[str, ...] | list[str] = ()
    ) -> None:
        super().__init__(message, state="answered", at=at, hints=hints)


class SecretExpired(OtsError):
    exit_code = ExitCode.EXPIRED
    code = "expired"

    def __init__(
        self, message: str, *, at: int | None = None, hints: tuple[str, ...] | list[str] = ()
    ) -> None:
        super().__init__(message, hints=hints)
        self.at = at

    def details(self) -> dict[str, object]:
        return {"at": self.at}


class RequestOver(SecretExpired):
    """A request past its end: ``state`` is ``"expired"`` (its lifetime ran out; an answer
    expires with it) or ``"closed"`` (its requester closed it). Either way nobody can answer
    it and no answer can be read from it any more."""

    def __init__(
        self,
        message: str,
        *,
        state: str,
        at: int | None = None,
        hints: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message, at=at, hints=hints)
        self.state = state


class CryptoError(OtsError):
    exit_code = ExitCode.INTEGRITY
    code = "integrity"


class FormatError(CryptoError):
    code = "bad_format"


class UnsupportedVersion(CryptoError):
    code = "unsupported_version"


class DecryptionFailed(CryptoError):
    code = "decryption_failed"


class KdfParamsRefused(CryptoError):
    code = "kdf_params_refused"


class WeakKdf(CryptoError):
    """A passphrase-protected secret whose header asks for less Argon2id work than the default
    writer cost: refused before the passphrase is used, unless ``--allow-weak-kdf``."""

    code = "weak_kdf"


class TamperedAnswer(CryptoError):
    """A request's sealed answer that the requester's private key does not open, or that does
    not hold exactly a secret's id and key: altered on the way, or sealed to another key.
    Nothing is consumed and the request is kept."""

    code = "tampered_answer"


class Unavailable(OtsError):
    exit_code = ExitCode.UNAVAILABLE
    code = "unavailable"


class ProtocolError(Unavailable):
    """The server's answer breaks the API contract: not an ots server, an incompatible
    version, or a proxy in the way. Grouped with :class:`Unavailable` because a proxy error
    page is the usual cause and retrying later is the usual cure."""

    code = "protocol"


class WaitTimedOut(Unavailable):
    """``ots share --wait --timeout D`` gave up: the secret is still shared and unread.
    Grouped with :class:`Unavailable` because waiting again later is the cure."""

    code = "timeout"


class PolicyRefused(OtsError):
    """The server refused by policy. ``retry_after`` is set (seconds) for rate limits."""

    exit_code = ExitCode.REFUSED
    code = "refused"

    def __init__(
        self,
        message: str,
        *,
        reason: str = "refused",
        retry_after: int | None = None,
        hints: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message, hints=hints)
        self.reason = reason
        self.retry_after = retry_after

    def details(self) -> dict[str, object]:
        return {"reason": self.reason, "retry_after": self.retry_after}


class WrongPassphrase(OtsError):
    """``burned`` is True when this was the last attempt and the server destroyed the secret."""

    exit_code = ExitCode.WRONG_PASSPHRASE
    code = "wrong_passphrase"

    def __init__(
        self,
        message: str,
        *,
        attempts_left: int,
        burned: bool = False,
        hints: tuple[str, ...] | list[str] = (),
    ) -> None:
        super().__init__(message, hints=hints)
        self.attempts_left = attempts_left
        self.burned = burned

    def details(self) -> dict[str, object]:
        return {"attempts_left": self.attempts_left, "burned": self.burned}


class TransferLost(OtsError):
    """The server released the secret, but it never arrived whole (the connection broke or
    the output could not be written): the view is spent and the data is gone."""

    exit_code = ExitCode.LOST
    code = "lost"


class Declined(OtsError):
    """The person at the terminal answered no when asked to consume a secret: nothing was
    consumed and the link still works. Not a failure, but not a success either (nothing was
    printed), hence its own exit code."""

    exit_code = ExitCode.DECLINED
    code = "declined"


class Cancelled(OtsError):
    """The person at the terminal pressed Ctrl-C. Before a reveal nothing was consumed; during
    a download the message says the secret was."""

    exit_code = ExitCode.INTERRUPTED
    code = "cancelled"
