"""Help reads as documentation: parameters are named LINK, FILE, DURATION…, never by Typer's
internals (``<str>``, ``<int>``, ``{LINK}``), for every command there is; and the man page
generated from the help (docs/ots.1) is current, installed with the package and renders cleanly."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib

import pytest

from ots_cli.app import build_command
from ots_cli.cli.manpage import PAGE, ROOT, render

from .support import Runner

_TYPE_LABEL = re.compile(r"<[a-z][a-z|_-]*>")


def _command_paths() -> list[str]:
    """Every command of the real click tree (groups and leaves), as typed after ``ots``."""
    paths: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(" ".join(path))
        children = getattr(command, "commands", {})
        for name in children:
            walk(children[name], [*path, name])

    walk(build_command(), [])
    return paths


COMMAND_PATHS = _command_paths()


def test_the_walk_finds_nested_commands() -> None:
    assert {"", "get", "config", "config set", "completion"} <= set(COMMAND_PATHS)


@pytest.mark.parametrize("command", COMMAND_PATHS)
def test_help_shows_no_type_labels_or_braces(ots: Runner, command: str) -> None:
    result = ots(*command.split(), "--help")
    assert result.code == 0, result.err
    assert _TYPE_LABEL.findall(result.text) == []
    usage = [line for line in result.text.splitlines() if "Usage:" in line]
    assert len(usage) == 1
    assert "{" not in usage[0]
    assert "}" not in usage[0]


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("get", "Usage: ots get [OPTIONS] LINK"),
        ("burn", "Usage: ots burn [OPTIONS] LINK|RECEIPT"),
        ("config set", "Usage: ots config set [OPTIONS] KEY VALUE"),
        ("share", "Usage: ots share [OPTIONS] [FILE|-]"),
        ("completion", "Usage: ots completion [OPTIONS] SHELL"),
    ],
)
def test_usage_lines_name_the_arguments(ots: Runner, command: str, usage: str) -> None:
    assert usage in ots(*command.split(), "--help").text


def test_a_choice_option_lists_its_values_plainly(ots: Runner) -> None:
    assert re.search(r"--mask\s+auto\|github\|none\s", ots("get", "--help").text)


def test_the_man_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        f"{PAGE} is stale: run `python -m ots_cli.cli.manpage`"
    )


def test_the_man_page_is_installed_where_man_looks() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    assert setuptools["data-files"]["share/man/man1"] == ["docs/ots.1"]


@pytest.mark.parametrize("argv", [["-l", "docs/ots.1"], ["./docs/ots.1"]])
def test_man_renders_the_page_without_warnings(argv: list[str]) -> None:
    env = {**os.environ, "MANWIDTH": "100", "MANPAGER": "cat", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        ["man", "--warnings=w", *argv], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr.decode() == ""
    text = done.stdout.decode()
    for section in ("NAME", "SYNOPSIS", "GLOBAL OPTIONS", "COMMANDS", "EXIT STATUS"):
        assert f"\n{section}\n" in text
    for command in COMMAND_PATHS[1:]:
        assert f"   ots {command} [OPTIONS]" in text
    assert "--mask auto|github|none" in text
