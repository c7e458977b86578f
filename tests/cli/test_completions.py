"""Shell completions: completions/ is current, ``ots completion SHELL`` prints the same, and the
scripts' callback really completes ots's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ots_cli.cli.completions import FILES, script

from .support import Runner

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completions_directory_is_current(shell: str) -> None:
    path = COMPLETIONS / FILES[shell]
    assert path.read_text(encoding="utf-8") == script(shell), (
        f"{path} is stale: run `python -m ots_cli.cli.completions`"
    )


def test_no_stray_files_in_completions() -> None:
    assert sorted(p.name for p in COMPLETIONS.iterdir()) == sorted(FILES.values())


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_command_prints_the_script(ots: Runner, shell: str) -> None:
    result = ots("completion", shell)
    assert result.code == 0
    assert result.text == script(shell)
    assert "_OTS_COMPLETE" in result.text


def test_unknown_shell_is_a_usage_error(ots: Runner) -> None:
    assert ots("completion", "tcsh").code == 2


def test_the_callback_completes_commands() -> None:
    env = {
        **os.environ,
        "_OTS_COMPLETE": "complete_bash",
        "COMP_WORDS": "ots sh",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ots_cli"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.split() == [b"share"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("ots fo", [b"forget"]),
        ("ots list --pr", [b"--prune"]),
        ("ots req", [b"request"]),
        ("ots resp", [b"respond"]),
        ("ots request ca", [b"cancel"]),
        ("ots request wait --time", [b"--timeout"]),
    ],
)
def test_the_callback_completes_forget_and_prune(words: str, expected: list[bytes]) -> None:
    env = {
        **os.environ,
        "_OTS_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ots_cli"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.split() == expected
