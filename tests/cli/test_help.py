"""Help reads as documentation: parameters are named LINK, FILE, DURATION…, never by Typer's
internals (``<str>``, ``<int>``, ``{LINK}``), for every command there is."""

from __future__ import annotations

import re

import pytest

from ots_cli.app import build_command

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
