"""Reading the secret to send, for ``ots share`` and ``ots respond``: FILE, stdin or a prompt.

Invariants:

- The secret comes from a FILE, from stdin when it is not a terminal (or for ``-``), or from
  a hidden prompt; never from argv. Its bytes are sealed exactly as read (no newline is
  stripped or added).
- Nothing is asked when no prompt is possible (``--no-input``, ``CI``, no terminal): a missing
  secret is a usage error naming the alternatives.
- An empty input is refused before anything is sent (``</dev/null`` or an unset variable is a
  mistake far more often than a secret), unless ``--allow-empty`` says it is meant.
- An input is stopped as soon as it is larger than the server accepts (:class:`LimitCheck`),
  before the rest is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ots_cli.core.envelope import Meta
from ots_cli.errors import BadLink, PolicyRefused, UsageError
from ots_cli.local.inputs import Payload, from_file, from_stdin
from ots_cli.runtime import Runtime
from ots_cli.terminal.prompts import ask_secret

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Limits

__all__ = ["LimitCheck", "check_not_a_link", "read_secret", "refuse_empty", "too_large"]


@contextmanager
def read_secret(
    rt: Runtime, file: str | None, check: LimitCheck, *, confirm: bool
) -> Iterator[tuple[Payload, bool]]:
    """The secret to seal, and whether it was typed at a prompt."""
    spool_dir = rt.env.get("TMPDIR") or None  # the injected environment, like everything else
    if file is not None and file != "-":
        with from_file(file, check, warn=rt.output.warn, spool_dir=spool_dir) as payload:
            yield payload, False
        return
    if file == "-" or not _isatty(rt.stdin):
        with from_stdin(rt.stdin, check, spool_dir=spool_dir) as payload:
            yield payload, False
        return
    if not rt.can_prompt():
        raise UsageError(
            "no secret given",
            hints=(f"pipe the secret on stdin, or pass a FILE ({rt.no_prompt_reason()})",),
        )
    answer = ask_secret(rt.stdin, rt.output, "Secret (hidden): ")
    if not answer:
        raise UsageError("no secret entered", hints=("type or paste the secret, then Enter",))
    if confirm and ask_secret(rt.stdin, rt.output, "Secret again: ") != answer:
        raise UsageError("the two entries differ; nothing was shared")
    yield Payload(Meta(), len(answer), data=answer), True


def refuse_empty(payload: Payload, *, allow_empty: bool) -> None:
    """An empty input is a usage error unless ``--allow-empty``."""
    if payload.length == 0 and not allow_empty:
        raise UsageError(
            "nothing to share: the input is empty",
            hints=("to share an empty secret on purpose, pass --allow-empty",),
        )


class LimitCheck:
    """Stops reading an input as soon as it is larger than the server accepts.

    Asks the server's limits as soon as an input is too large to hold in memory, before it is
    read further; the caller reuses them (``limits``: it needs them for the public URL
    anyway). ``api`` gives the API of the server the secret goes to, when first needed.
    """

    def __init__(self, api: Callable[[], Api]) -> None:
        self._api_factory = api
        self._api: Api | None = None
        self.limits: Limits | None = None

    def api(self) -> Api:
        if self._api is None:
            self._api = self._api_factory()
        return self._api

    def __call__(self, size: int) -> None:
        if self.limits is None:
            self.limits = self.api().limits()
        if size > self.limits.max_bytes:
            raise too_large(self.api(), self.limits.max_bytes)


def too_large(api: Api, max_bytes: int) -> PolicyRefused:
    from ots_cli.api.answers import too_large as refusal

    return refusal(max_bytes, account=api.credential() is not None)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def check_not_a_link(rt: Runtime, body: bytes, *, prompted: bool) -> None:
    """A secret that is itself an ots link: refused when typed at the prompt (``ots get`` was
    probably meant), a warning when piped in (it may be meant)."""
    from ots_cli.core.links import parse_link

    if len(body) > 512:
        return
    try:
        link = parse_link(body.decode("utf-8"), allow_insecure_http=True)
    except (UnicodeDecodeError, BadLink):
        return
    if link.server is None and not prompted:
        return
    if prompted:
        raise UsageError(
            "that looks like an ots link, not a secret",
            hints=(
                "to read a link, run `ots get LINK`",
                "to share a link on purpose, pipe it: printf %s LINK | ots share",
            ),
        )
    rt.output.warn("the secret looks like an ots link; to read a link, use `ots get`")
