"""``ots-server``'s exit statuses: the README's "Server exit codes" table is the enum, exactly,
and no other server module names an exit status of its own."""

from __future__ import annotations

import re
from pathlib import Path

from ots_server.exits import ServerExit

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "backend" / "ots_server"


def _readme_table(heading: str) -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    rows: dict[int, str] = {}
    for line in section.splitlines():
        if rows and not line.startswith("|"):
            break
        match = re.fullmatch(r"\| (\d+) \| (.+) \|", line)
        if match:
            rows[int(match[1])] = match[2]
    return rows


def test_the_readme_table_lists_exactly_the_server_exit_codes() -> None:
    rows = _readme_table("## Server exit codes")
    assert sorted(rows) == sorted(member.value for member in ServerExit)
    assert all(meaning.strip() for meaning in rows.values())


def test_no_other_server_module_defines_or_borrows_exit_statuses() -> None:
    for path in SERVER.rglob("*.py"):
        if path.name == "exits.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*EXIT_\w+\s*=", source, re.M), path
        assert "ExitCode" not in source, path  # the CLI's enum: the programs share no module
        assert not re.search(r"sys\.exit\(\s*\d", source), path
