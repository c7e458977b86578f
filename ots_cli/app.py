"""The Typer app ``ots``: commands, global options, and the click command tree main() runs.

Global options (``--server``, ``--json``, ``--no-input``, ``-q``, ``--debug``, ``--insecure``,
``--token-file``)
are declared once on the root callback and also accepted after any command name
(``ots share --json``): :func:`build_command` copies them onto every leaf command and records
them on the :class:`~ots_cli.runtime.Runtime` before the command runs. It also makes every
command's help name its parameters as the docs do (:func:`ots_cli.cli.helpnames.plain_names`).

Invariants:

- Importing this module imports Typer only: command modules load when their command is looked
  up (:class:`LazyCommands`), and httpx, rich or nacl on the code paths that use them.
- Commands never catch :class:`~ots_cli.errors.OtsError`; ``main`` does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ots_cli import __version__
from ots_cli.cli.helpnames import plain_names
from ots_cli.cli.typer_compat import click, get_command, get_current_context

if TYPE_CHECKING:
    from ots_cli.runtime import Runtime

__all__ = ["COMMANDS", "GLOBAL_OPTIONS", "app", "build_command"]

GLOBAL_OPTIONS = ("server", "json", "no_input", "quiet", "debug", "insecure", "token_file")
_PANEL = "Global options"

app = typer.Typer(
    name="ots",
    help="Share secrets that can be read once: encrypted on your machine, the server sees "
    "only ciphertext.",
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        from ots_cli.errors import ExitCode

        rt: Runtime = ctx.obj
        rt.output.line(f"ots {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            metavar="URL|NAME",
            help="Server URL, or a name from \\[servers.NAME] in the config. Env OTS_SERVER.",
            rich_help_panel=_PANEL,
        ),
    ] = None,
    json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document on stdout (docs/cli.md).",
            rich_help_panel=_PANEL,
        ),
    ] = False,
    no_input: Annotated[
        bool,
        typer.Option(
            "--no-input", help="Never prompt (also when CI is set).", rich_help_panel=_PANEL
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Only errors and warnings on stderr.", rich_help_panel=_PANEL
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show a traceback for unexpected errors.", rich_help_panel=_PANEL
        ),
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow plain http:// to hosts other than this machine.",
            rich_help_panel=_PANEL,
        ),
    ] = False,
    token_file: Annotated[
        str | None,
        typer.Option(
            "--token-file",
            metavar="PATH",
            help="Use the account token in PATH (first line). Env OTS_TOKEN holds one too.",
            rich_help_panel=_PANEL,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Share secrets that can be read once."""
    rt: Runtime = ctx.obj
    for name, value in (
        ("server", server),
        ("json", json),
        ("no_input", no_input),
        ("quiet", quiet),
        ("debug", debug),
        ("insecure", insecure),
        ("token_file", token_file),
    ):
        rt.set_option(name, value)


#: Every command: name → (module, attribute). A module is imported only when its command is
#: looked up (to run it, or for --help and completion), so `ots get` never pays for `ots list`.
COMMANDS: dict[str, tuple[str, str]] = {
    "share": ("ots_cli.commands.share", "share"),
    "get": ("ots_cli.commands.get", "get"),
    "peek": ("ots_cli.commands.get", "peek"),
    "run": ("ots_cli.commands.run", "run"),
    "status": ("ots_cli.commands.track", "status"),
    "list": ("ots_cli.commands.track", "list_receipts"),
    "burn": ("ots_cli.commands.track", "burn"),
    "forget": ("ots_cli.commands.forget", "forget"),
    "generate": ("ots_cli.commands.generate", "generate"),
    "request": ("ots_cli.commands.request", "request_app"),
    "respond": ("ots_cli.commands.respond", "respond"),
    "login": ("ots_cli.commands.account", "login"),
    "logout": ("ots_cli.commands.account", "logout"),
    "whoami": ("ots_cli.commands.account", "whoami"),
    "config": ("ots_cli.commands.config", "config_app"),
    "completion": ("ots_cli.commands.config", "completion"),
}


#: Click context settings of single commands. ``login`` takes extra words so that it can refuse
#: a token given on the command line without click quoting it back in an error.
_CONTEXT_SETTINGS: dict[str, dict[str, Any]] = {"login": {"allow_extra_args": True}}


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's ``commands``: every name is known, each command is built on first use."""

    def __init__(self, globals_: list[click.Parameter]) -> None:
        self._globals = globals_
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = self._build(name)
        return self._built[name]

    def _build(self, name: str) -> click.Command:
        module_name, attribute = COMMANDS[name]
        target = getattr(importlib.import_module(module_name), attribute)
        if isinstance(target, typer.Typer):
            command = get_command(target)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name, context_settings=_CONTEXT_SETTINGS.get(name))(target)
            command = get_command(single)
        command.name = name
        _attach(command, self._globals)
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


def build_command() -> click.Command:
    """The click command tree of :data:`app`, with global options on every leaf command."""
    command = get_command(app)
    plain_names(command)
    globals_ = [p for p in command.params if p.name in GLOBAL_OPTIONS]
    command.commands = LazyCommands(globals_)  # type: ignore[attr-defined]
    return command


def _attach(command: click.Command, globals_: list[click.Parameter]) -> None:
    plain_names(command)
    children = getattr(command, "commands", None)
    if children is not None:
        for child in children.values():
            _attach(child, globals_)
        # A group that runs on its own (`ots request --ttl 1h`) takes them too.
        if not getattr(command, "invoke_without_command", False):
            return
    command.params.extend(globals_)
    original = command.callback
    assert original is not None

    def callback(**kwargs: Any) -> Any:
        rt: Runtime = get_current_context().obj
        for name in GLOBAL_OPTIONS:
            rt.set_option(name, kwargs.pop(name))
        return original(**kwargs)

    command.callback = callback
