"""How help names parameters: ``LINK``, ``[FILE|-]``, ``DURATION``, ``auto|github|none``.

Left alone, Typer writes a required argument as ``{LINK}`` in usage lines, labels an argument's
type ``<str>`` beside its name, and shows a choice without a metavar as ``<auto|github|none>``;
all three read like internals. :func:`plain_names` is applied once to every command of the tree
(``ots_cli.app``), so a command module declares a metavar and nothing else.

Invariants:

- Only how parameters are shown changes: parsing, conversion, completion and error messages go
  through the original types.
- An argument is shown as its metavar (or its name in capitals), in brackets when optional,
  with ``...`` when it takes several values; a choice option as its values joined by ``|``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ots_cli.cli.typer_compat import ParamType, TyperArgument, TyperChoice, click

__all__ = ["plain_names"]


def plain_names(command: click.Command) -> None:
    """Make ``command``'s own parameters show as documented (idempotent)."""
    for param in command.params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument  # same object, only make_metavar differs
            param.type = _Unlabelled(param.type)
        elif param.metavar is None and isinstance(param.type, TyperChoice):
            param.metavar = "|".join(str(getattr(c, "value", c)) for c in param.type.choices)


class _Argument(TyperArgument):
    """A positional argument named by its metavar: ``LINK``, never ``{LINK}``."""

    def make_metavar(self, ctx: click.Context, *, usage: bool = False) -> str:
        name = self.metavar or (self.name or "").upper()
        if usage and not self.required and not name.startswith("["):
            name = f"[{name}]"
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name


class _Unlabelled(ParamType):
    """``inner`` without a type label in help; everything else is ``inner``'s."""

    def __init__(self, inner: ParamType) -> None:
        self.inner = inner
        self.name = inner.name

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return ""  # not None: Typer would print <name> instead

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None) -> str | None:
        return self.inner.get_missing_message(param, ctx)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return self.inner.convert(value, param, ctx)

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        return self.inner.split_envvar_value(rv)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
        return self.inner.shell_complete(ctx, param, incomplete)
