"""Sharing a secret the user gave: ``ots share`` and ``ots generate --share`` after parsing.

Invariants:

- Every option is checked (:func:`check_options`) before anything is read, asked or sent.
- The link starts with the server's published public URL (``OTS_PUBLIC_URL``, from
  ``GET /limits``, asked before anything is sealed) when that makes a valid link, else with the
  address ots reached the server at; the receipt keeps the address ots reached it at.
- The receipt is saved before the link is printed; failing to save it is a warning, because a
  created secret whose link is lost would be worse.
- The link is printed on stdout and nowhere else (never in the receipt, never in a log); with
  ``--wait`` it is printed (and flushed) first, then :mod:`ots_cli.usecases.wait` polls the
  receipt.

Sealing and uploading is :mod:`ots_cli.usecases.upload`'s (``ots respond`` uses it too).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ots_cli.core.durations import parse_duration
from ots_cli.errors import OtsError, UsageError
from ots_cli.local.passphrases import kdf_cost, read_passphrase_file
from ots_cli.runtime import Runtime
from ots_cli.terminal.prompts import ask_hidden
from ots_cli.usecases.upload import Shared, link_base, upload

if TYPE_CHECKING:
    from ots_cli.api.client import Limits
    from ots_cli.local.inputs import Payload

__all__ = ["ShareOptions", "check_options", "share_secret", "wait_if_asked"]


class ShareOptions(NamedTuple):
    """The options of every command that shares (``share``, ``generate --share``); the
    defaults are "not given", so ``options != ShareOptions()`` means some were."""

    ttl: str | None = None
    views: int | None = None
    passphrase: bool = False
    passphrase_file: Path | None = None
    attempts: int | None = None
    copy: bool = False
    qr: bool = False
    label: str | None = None
    wait: bool = False
    timeout: str | None = None
    #: ``--for``: the CI identity as typed (see :func:`binding`).
    bind_to: str | None = None


def binding(options: ShareOptions) -> str | None:
    """The canonical binding ``--for`` names, or ``None``; a usage error if malformed."""
    from ots_cli.core.binding import binding_from_option

    if options.bind_to is None:
        return None
    try:
        return binding_from_option(options.bind_to)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None


def check_options(options: ShareOptions) -> None:
    """Refuse bad combinations before anything is read, asked or sent."""
    if options.passphrase and options.passphrase_file is not None:
        raise UsageError("give --passphrase or --passphrase-file, not both")
    if options.attempts is not None:
        if not (options.passphrase or options.passphrase_file):
            raise UsageError("--attempts only applies with a passphrase")
        if options.attempts < 1:
            raise UsageError("--attempts must be at least 1")
    binding(options)
    _wait_limit(options)


def _wait_limit(options: ShareOptions) -> int | None:
    """``--timeout`` in seconds (None: wait until the end); a usage error without ``--wait``."""
    if options.timeout is None:
        return None
    if not options.wait:
        raise UsageError("--timeout only applies with --wait")
    return parse_duration(options.timeout, what="--timeout")


def wait_if_asked(rt: Runtime, shared: Shared, options: ShareOptions) -> None:
    """With ``--wait``, wait for the secret just shared to be read (see ``usecases.wait``)."""
    if options.wait:
        from ots_cli.usecases.wait import wait_for_read

        wait_for_read(rt, shared, _wait_limit(options))


def _read_passphrase(rt: Runtime, options: ShareOptions) -> str | None:
    if options.passphrase_file is not None:
        return read_passphrase_file(options.passphrase_file)
    if not options.passphrase:
        return None
    if not rt.can_prompt():
        raise UsageError(
            "cannot prompt for the passphrase here",
            hints=(f"use --passphrase-file PATH ({rt.no_prompt_reason()})",),
        )
    first = ask_hidden(rt.stdin, rt.output, "Passphrase (hidden): ")
    if not first:
        raise UsageError("no passphrase entered")
    if ask_hidden(rt.stdin, rt.output, "Passphrase again: ") != first:
        raise UsageError("the two passphrases differ; nothing was shared")
    return first


def share_secret(
    rt: Runtime, payload: Payload, options: ShareOptions, *, limits: Limits | None = None
) -> Shared:
    """Seal ``payload``, upload it, save the receipt, print the link (and copy / QR).

    ``limits``: the server's limits if they were already asked for this command.
    """
    from ots_cli.core.links import build_link
    from ots_cli.local.receipts import Receipt

    settings = rt.settings(ttl=options.ttl, views=options.views)
    api = rt.api()
    api.credential()  # a keyring or token-file problem shows before the passphrase is asked
    if limits is None:
        limits = api.limits()
    base = link_base(rt, api.server, limits.public_url)
    passphrase = _read_passphrase(rt, options)
    uploaded = upload(
        rt,
        api,
        payload,
        ttl=settings.ttl,
        views=settings.views,
        passphrase=passphrase,
        attempts=options.attempts,
        cost=kdf_cost(settings.passphrase_cost),
        limits=limits,
        binding=binding(options),
    )
    created = uploaded.created
    link = build_link(base, uploaded.id, uploaded.key)
    receipt = Receipt(
        id=created.id,
        server=api.server,
        token=created.receipt,
        created_at=created.created_at,
        expires_at=created.expires_at,
        views=created.views,
        passphrase=passphrase is not None,
        label=options.label,
        views_left=created.views,
        checked_at=created.created_at,
    )
    saved = True
    try:
        rt.receipts.add(receipt)
    except OtsError as exc:
        saved = False
        rt.output.warn(f"the receipt was not saved: {exc.message}")
    if rt.options.json:
        rt.output.json(
            {
                "link": link,
                "id": created.id,
                "server": api.server,
                "created_at": created.created_at,
                "expires_at": created.expires_at,
                "views": created.views,
                "passphrase": passphrase is not None,
                "attempts": created.attempts,
                "label": options.label,
                "receipt_saved": saved,
            }
        )
    else:
        rt.output.line(link)
    if options.copy:
        _copy(rt, link)
    if options.qr:
        _qr(rt, link)
    return Shared(api, receipt, saved)


def _copy(rt: Runtime, link: str) -> None:
    from ots_cli.terminal import clipboard

    try:
        tool = clipboard.copy(link, rt.env)
    except OtsError as exc:  # the secret is shared and its link printed: only warn
        rt.output.warn(f"{exc.message}; the link was not copied")
        return
    kept = "clipboard managers and history may keep a copy of it"
    if tool is not None:
        rt.output.warn(f"copied the link to the clipboard with {tool}; {kept}")
        return
    if not rt.output.stderr_is_tty:
        rt.output.warn("no clipboard tool found and stderr is not a terminal; not copied")
        return
    # OSC 52 is a request the terminal may ignore, and it cannot say whether it did: claim only
    # what ots did.
    rt.output.stderr_raw(clipboard.osc52(link))
    rt.output.warn(
        "sent the link to the terminal's clipboard (OSC 52); your terminal may ignore it, so "
        f"check before you rely on it; {kept}"
    )


def _qr(rt: Runtime, link: str) -> None:
    import segno

    buffer = io.StringIO()
    segno.make(link, error="m").terminal(out=buffer, compact=True)
    rt.output.stderr_raw(buffer.getvalue())
