"""The one seam to Typer's private modules: everything ots uses that Typer does not document.

ots needs a few things Typer keeps private: its vendored click (``typer._click``: the command
tree, contexts, exceptions), the current context, the classes behind arguments, options and
choices (to make help name parameters plainly, and to write the man page), the command a Typer
app or function becomes, and the shell completion machinery. ``pyproject.toml`` pins
``typer<0.29`` because these can move in any release; when they do, this module is the only
one to change. tests/test_layers.py fails when any other module imports them.

Invariant: importing this module costs nothing beyond ``import typer`` (which already loads
every module named here); the completion modules are imported only when called.
"""

from __future__ import annotations

from typer import _click as click
from typer._click.globals import get_current_context
from typer._click.types import ParamType
from typer._types import TyperChoice
from typer.core import TyperArgument, TyperOption
from typer.main import get_command

__all__ = [
    "ParamType",
    "TyperArgument",
    "TyperChoice",
    "TyperOption",
    "click",
    "completion_init",
    "completion_script",
    "get_command",
    "get_current_context",
]


def completion_init() -> None:
    """Register Typer's shell completion classes (a completion script is calling ots back)."""
    from typer._completion_classes import completion_init as init

    init()


def completion_script(*, prog_name: str, complete_var: str, shell: str) -> str:
    """Typer's completion script for ``shell``, calling ``prog_name`` back with ``complete_var``."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=prog_name, complete_var=complete_var, shell=shell)
