"""``ots share --wait``: block until the secret is read, burned or expired, by polling its receipt.

:func:`poll` is the discipline every wait of ots follows (``share --wait``, and ``ots request``
waiting for its answer); :func:`wait_until_done` applies it to a receipt.

Invariants:

- Only a status endpoint is asked (the receipt's, or the request's); waiting changes nothing
  on the server.
- Polls back off: the first after 1 s, then 1.5 times longer each time up to 10 s, each delay
  jittered by ±20 % so that many waiting jobs do not poll in step, and never past the deadline.
- A server that does not answer (or rate-limits) is asked again with the same backoff, after
  its ``Retry-After`` if it gave one; that alone never ends the wait. An answer that is not the
  ots API, or a receipt the server does not know, does.
- Ctrl-C ends the wait with :class:`~ots_cli.errors.Cancelled` (130); the secret stays shared.
- Outcomes: read is success (a note, or the ``share-wait`` JSON document after the ``share``
  one); burned is :class:`~ots_cli.errors.SecretGone` (6), expired
  :class:`~ots_cli.errors.SecretExpired` (7), the deadline
  :class:`~ots_cli.errors.WaitTimedOut` (9). The local receipt learns the outcome.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ots_cli.core.durations import format_duration
from ots_cli.errors import (
    Cancelled,
    OtsError,
    PolicyRefused,
    ProtocolError,
    SecretExpired,
    SecretGone,
    Unavailable,
    WaitTimedOut,
)
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.api.client import Api, ReceiptStatus
    from ots_cli.usecases.upload import Shared

__all__ = [
    "CAP",
    "FIRST",
    "GROWTH",
    "JITTER",
    "delays",
    "poll",
    "wait_for_read",
    "wait_until_done",
]

T = TypeVar("T")

FIRST = 1.0
GROWTH = 1.5
CAP = 10.0
JITTER = 0.2


def delays(
    first: float = FIRST, uniform: Callable[[float, float], float] = random.uniform
) -> Iterator[float]:
    """1 s, 1.5 s, 2.25 s, … up to 10 s, each multiplied by a factor in [0.8, 1.2]."""
    delay = first
    while True:
        yield delay * uniform(1 - JITTER, 1 + JITTER)
        delay = min(delay * GROWTH, CAP)


def poll(
    rt: Runtime,
    ask: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: int | None,
    timed_out: Callable[[], OtsError],
    cancelled: Callable[[], OtsError],
    uniform: Callable[[float, float], float] = random.uniform,
) -> T:
    """``ask()`` after each delay of :func:`delays` until ``done`` says its answer ends the
    wait; ``timed_out()`` is raised at the deadline, ``cancelled()`` on Ctrl-C. An error from
    ``ask`` ends the wait, except a rate limit or an unavailable server (see the module)."""
    deadline = None if timeout is None else rt.monotonic() + timeout
    schedule = delays(uniform=uniform)
    warned = False
    try:
        while True:
            delay = next(schedule)
            if deadline is not None:
                remaining = deadline - rt.monotonic()
                if remaining <= 0:
                    raise timed_out()
                delay = min(delay, remaining)
            rt.sleep(delay)
            try:
                answer = ask()
            except PolicyRefused as exc:
                if exc.reason != "rate_limited":
                    raise
                if exc.retry_after:
                    schedule = delays(first=float(exc.retry_after), uniform=uniform)
                continue
            except ProtocolError:
                raise
            except Unavailable as exc:
                if not warned:
                    rt.output.warn(f"{exc.message}; still waiting")
                    warned = True
                continue
            if done(answer):
                return answer
    except KeyboardInterrupt:
        raise cancelled() from None


def wait_until_done(
    rt: Runtime,
    api: Api,
    token: str,
    *,
    timeout: int | None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> ReceiptStatus:
    """The receipt's status once it is no longer ``pending`` (read, burned or expired)."""

    def timed_out() -> WaitTimedOut:
        assert timeout is not None
        return WaitTimedOut(
            f"stopped waiting after {format_duration(timeout)}: the secret has not been read",
            hints=(
                "it is still shared: `ots status` tells later whether it was read, "
                "`ots burn` destroys it",
            ),
        )

    def cancelled() -> Cancelled:
        return Cancelled(
            "stopped waiting; the secret is still shared",
            hints=("`ots status` tells whether it was read, `ots burn` destroys it",),
        )

    return poll(
        rt,
        lambda: api.receipt_status(token),
        lambda status: status.state != "pending",
        timeout=timeout,
        timed_out=timed_out,
        cancelled=cancelled,
        uniform=uniform,
    )


def wait_for_read(rt: Runtime, shared: Shared, timeout: int | None) -> None:
    """Block until the secret is read, and report when; burned is exit 6, expired 7."""
    from ots_cli.core.render import describe_time

    started = rt.monotonic()
    rt.output.progress("waiting for the secret to be read (Ctrl-C stops waiting)…")
    status = wait_until_done(rt, shared.api, shared.receipt.token, timeout=timeout)
    if shared.saved:
        try:
            rt.receipts.update(
                shared.receipt.updated(
                    state=status.state,
                    views_left=status.views_left,
                    read_at=status.read_at,
                    burned_at=status.burned_at,
                    expires_at=status.expires_at,
                    checked_at=rt.now(),
                )
            )
        except OtsError as exc:  # a cache write must not hide the outcome
            rt.output.warn(f"the local receipt was not updated: {exc.message}")
    if status.state == "burned":
        raise SecretGone(
            "the secret was burned before it was read",
            state="burned",
            at=status.burned_at,
            hints=("burned by `ots burn`, or after too many wrong passphrases",),
        )
    if status.state == "expired":
        partly = status.views_left < status.views
        raise SecretExpired(
            "the secret expired after a partial read" if partly else "the secret expired unread",
            at=status.expires_at,
        )
    if rt.options.json:
        rt.output.json(
            {
                "id": status.id,
                "state": status.state,
                "read_at": status.read_at,
                "waited": round(rt.monotonic() - started),
            }
        )
    elif status.read_at is not None:
        rt.output.note(f"read {describe_time(status.read_at, rt.now())}")
    else:
        rt.output.note("read")
