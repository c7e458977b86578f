"""``ots config show|get|set|unset|path`` and ``ots completion SHELL``.

Neither touches the network. ``config set`` validates a value as strictly as reading the file
does, so a bad value is refused when it is typed rather than on the next ``ots share``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ots_cli.errors import OtsError
from ots_cli.local.config import KEYS, check_key
from ots_cli.runtime import Runtime

__all__ = ["completion", "config_app"]

config_app = typer.Typer(
    name="config",
    help="Show or change settings (config file, OTS_* variables, flags).",
    add_completion=False,
)

KeyArgument = Annotated[
    str,
    typer.Argument(
        metavar="KEY",
        help=f"One of {', '.join(KEYS)}, or servers.NAME.url.",
    ),
]


@config_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the config file and the receipts live."""
    rt: Runtime = ctx.obj
    paths = {
        "config_file": str(rt.paths.config_file),
        "receipts_dir": str(rt.paths.receipts_dir),
    }
    if rt.options.json:
        rt.output.json(paths)
    else:
        # The fields of --json, as `config show` prints settings: one `name = value` per line.
        rt.output.lines([f"{name} = {value}" for name, value in paths.items()])


@config_app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective settings and where each one comes from."""
    rt: Runtime = ctx.obj
    settings: dict[str, dict[str, object]] = {}
    for key, variable in KEYS.items():
        value: object
        if key == "server" and rt.options.server is not None:
            value, source = rt.options.server, "flag"
        elif rt.env.get(variable):
            value, source = rt.env[variable], variable
        elif rt.config.get(key) is not None:
            value, source = rt.config.get(key), "file"
        else:
            value, source = ("default" if key == "passphrase_cost" else None), "default"
        settings[key] = {"value": value, "source": source}
    try:
        effective_server: str | None = rt.settings().server
    except OtsError as exc:
        rt.output.warn(exc.message)
        effective_server = None
    servers = rt.config.get("servers") or {}
    if rt.options.json:
        rt.output.json(
            {
                "config_file": str(rt.paths.config_file),
                "receipts_dir": str(rt.paths.receipts_dir),
                "settings": settings,
                "server_url": effective_server,
                "servers": {name: table.get("url") for name, table in servers.items()},
            }
        )
        return
    lines = [f"# {rt.paths.config_file}"]
    for key, entry in settings.items():
        shown = "(not set)" if entry["value"] is None else str(entry["value"])
        if key == "server" and effective_server and effective_server != entry["value"]:
            shown += f" -> {effective_server}"
        lines.append(f"{key} = {shown}  [{entry['source']}]")
    for name, table in sorted(servers.items()):
        lines.append(f"servers.{name}.url = {table.get('url')}")
    rt.output.lines(lines)


@config_app.command("get")
def get(ctx: typer.Context, key: KeyArgument) -> None:
    """Print one value from the config file (nothing when it is not set)."""
    rt: Runtime = ctx.obj
    check_key(key)
    value = rt.config.get(key)
    if rt.options.json:
        rt.output.json({"key": key, "value": value})
    elif value is not None:
        rt.output.line(str(value))


@config_app.command("set")
def set_(
    ctx: typer.Context,
    key: KeyArgument,
    value: Annotated[str, typer.Argument(metavar="VALUE")],
) -> None:
    """Set a value in the config file."""
    rt: Runtime = ctx.obj
    rt.config.set(key, value)
    if rt.options.json:
        rt.output.json({"key": key, "value": rt.config.get(key)})


@config_app.command("unset")
def unset(ctx: typer.Context, key: KeyArgument) -> None:
    """Remove a value from the config file."""
    rt: Runtime = ctx.obj
    removed = rt.config.unset(key)
    if rt.options.json:
        rt.output.json({"key": key, "removed": removed})
    elif not removed:
        rt.output.note(f"{key} was not set")


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"


def completion(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(metavar="SHELL", help="bash, zsh, fish or powershell.")],
) -> None:
    """Print the shell completion script (also in completions/ of the source tree)."""
    from ots_cli.cli.completions import script

    rt: Runtime = ctx.obj
    if rt.options.json:
        rt.output.json({"shell": shell.value, "script": script(shell.value)})
        return
    rt.output.data(script(shell.value).encode("utf-8"))
