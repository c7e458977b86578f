"""Shell completion scripts for bash, zsh, fish and PowerShell, and the generator of completions/.

The scripts are Typer's: each one calls ``ots`` back with ``_OTS_COMPLETE`` set, so they never
go stale as commands change, only when Typer changes its scripts. ``completions/`` holds them
for packagers; ``python -m ots_cli.cli.completions`` rewrites it, and a test fails when it is
stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["FILES", "script", "write_all"]

PROG_NAME = "ots"
COMPLETE_VAR = "_OTS_COMPLETE"
#: File name in completions/ for each shell (the names each shell's loader looks for).
FILES = {"bash": "ots.bash", "zsh": "_ots", "fish": "ots.fish", "powershell": "ots.ps1"}


def script(shell: str) -> str:
    """The completion script for ``shell``, ending with one newline."""
    from ots_cli.cli.typer_compat import completion_script

    if shell not in FILES:
        raise ValueError(f"unsupported shell {shell!r}")
    text = completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell)
    return text.strip("\n") + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in FILES.items():
        path = directory / name
        path.write_text(script(shell), encoding="utf-8", newline="\n")
        written.append(path)
    return written


if __name__ == "__main__":
    default = Path(__file__).parents[2] / "completions"
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    for path in write_all(target):
        print(path)
