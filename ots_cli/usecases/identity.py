"""A bound secret's CI identity on the reader's side (docs/FORMAT.md "Binding", docs/ci.md).

- :func:`check_binding`: the peek's ``binding`` (the server's policy) must be the header's
  (authenticated with the ciphertext): a server that dropped or changed it is refused before
  anything is consumed (*format error*, exit 8).
- :func:`prove_identity`: the ID token a bound secret needs, found before anything is
  consumed (:mod:`ots_cli.integrations.ci_identity`; outside the bound pipeline, exit 4) and
  handed to the API client, which sends it with that secret's reveal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ots_cli.errors import FormatError
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Peeked
    from ots_cli.core.format import Header
    from ots_cli.core.links import Link

__all__ = ["check_binding", "prove_identity"]


class Found(Protocol):
    """What :func:`prove_identity` needs of a peeked secret (``usecases.fetch.Peek``)."""

    @property
    def link(self) -> Link: ...

    @property
    def api(self) -> Api: ...

    @property
    def header(self) -> Header: ...


def check_binding(header: Header, peeked: Peeked) -> None:
    """Refuse a peek whose binding is not the header's (absent in one, or other text)."""
    if header.binding != peeked.binding:
        raise FormatError(
            "the server's binding for the secret contradicts its header",
            hints=("nothing was consumed; the server may be misconfigured or hostile",),
        )


def prove_identity(rt: Runtime, found: Found, variable: str | None) -> None:
    """For a bound secret, get the CI ID token for the server it is read from (the audience:
    the address this client uses, never one the server names) and give it to the API client
    for the reveal. ``variable``: ``--id-token-env``. Nothing for an unbound secret."""
    binding = found.header.binding
    if binding is None:
        return
    from ots_cli.core.binding import describe_binding
    from ots_cli.integrations.ci_identity import id_token

    who = describe_binding(binding)
    token = id_token(rt.env, audience=found.api.server, who=who, variable=variable)
    found.api.id_tokens[found.link.id] = token
