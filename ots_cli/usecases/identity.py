"""A bound secret's CI identity on the reader's side (docs/FORMAT.md "Binding", docs/ci.md).

- :func:`check_binding`: the peek's ``binding`` (the server's policy) must be the header's
  (authenticated with the ciphertext): a server that dropped or changed it is refused before
  anything is consumed (*format error*, exit 8).
- :func:`prove_binding`: the ID token a bound secret's peek asked for (``403
  id_token_required`` naming the binding), found before anything is consumed; the peek is then
  sent again with it.
- :func:`prove_identity`: the ID token a bound secret needs, found before anything is
  consumed (:mod:`ots_cli.integrations.ci_identity`; outside the bound pipeline, exit 4) and
  handed to the API client, which sends it with that secret's reveal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ots_cli.errors import FormatError, IdTokenRequired
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Peeked
    from ots_cli.core.format import Header
    from ots_cli.core.links import Link

__all__ = ["check_binding", "peek_with_identity", "prove_binding", "prove_identity"]


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
    """For a bound secret, make sure the API client holds the CI ID token for it (the peek
    of a bound secret already needed one: then nothing more is done). ``variable``:
    ``--id-token-env``. Nothing for an unbound secret."""
    binding = found.header.binding
    if binding is None or found.link.id in found.api.id_tokens:
        return
    prove_binding(rt, found.api, found.link, binding, variable)


def prove_binding(rt: Runtime, api: Api, link: Link, binding: str, variable: str | None) -> None:
    """Get the CI ID token for ``binding`` (the audience: the address this client uses, never
    one the server names) and hand it to the API client for ``link``'s peek and reveal.
    Outside that pipeline: exit 4, naming whom the secret is for."""
    from ots_cli.core.binding import describe_binding
    from ots_cli.integrations.ci_identity import id_token

    who = describe_binding(binding)
    api.id_tokens[link.id] = id_token(rt.env, audience=api.server, who=who, variable=variable)


def peek_with_identity(
    rt: Runtime, api: Api, link: Link, proof: bytes, variable: str | None
) -> Peeked:
    """The peek; a bound secret's refusal (``id_token_required`` naming its binding) gets the
    ID token (:func:`prove_binding`) and the peek is sent once more with it."""
    try:
        return api.peek(link.id, proof)
    except IdTokenRequired as exc:
        if exc.binding is None or link.id in api.id_tokens:
            raise
        prove_binding(rt, api, link, exc.binding, variable)
        return api.peek(link.id, proof)
