"""Exit codes in one place: README.md's table is :class:`~ots_cli.errors.ExitCode`, and no other
module of ots_cli writes an exit status as a number.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ots_cli.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLI = ROOT / "ots_cli"

#: What README.md's row for each code must say (its meaning, in the README's words).
MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.BUG: "a bug in ots",
    ExitCode.USAGE: "usage",
    ExitCode.CONFIG: "configuration",
    ExitCode.AUTH: "authentication",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.GONE: "consumed or burned",
    ExitCode.EXPIRED: "expired before it was read",
    ExitCode.INTEGRITY: "integrity failure",
    ExitCode.UNAVAILABLE: "server unavailable",
    ExitCode.REFUSED: "refused by server policy",
    ExitCode.WRONG_PASSPHRASE: "wrong passphrase",
    ExitCode.LOST: "cut off after the server released the secret",
    ExitCode.DECLINED: 'answered no to "reveal it now?"',
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.BROKEN_PIPE: "broken pipe",
}


def readme_rows(text: str) -> list[tuple[int, str]]:
    """The rows of the ``## Exit codes`` table: (code, meaning)."""
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.MULTILINE)
    return [(int(code), meaning) for code, meaning in rows]


def test_the_readme_table_lists_exactly_the_exit_codes_in_order() -> None:
    rows = readme_rows(README.read_text(encoding="utf-8"))
    assert [code for code, _ in rows] == [int(member) for member in ExitCode]


def test_each_readme_row_means_what_its_member_is_named_for() -> None:
    assert set(MEANINGS) == set(ExitCode)
    rows = dict(readme_rows(README.read_text(encoding="utf-8")))
    for member, meaning in MEANINGS.items():
        assert meaning in rows[member].lower(), (member.name, rows[member])


def test_a_wrong_table_is_caught() -> None:
    swapped = "\n## Exit codes\n\n| code | meaning |\n| --- | --- |\n| 0 | success |\n| 2 | x |\n"
    assert [code for code, _ in readme_rows(swapped)] != [int(member) for member in ExitCode]


# -- no literal exit numbers outside ots_cli/errors.py ---------------------------------------


#: Names that hold an exit status, and the numbers one is compared with (HTTP statuses are not
#: exit codes: ``status == 404`` in the API client is fine).
STATUS_WORDS = ("status", "exit", "result")
EXIT_VALUES = frozenset(int(member) for member in ExitCode if member > ExitCode.BUG)


def _exit_literals(source: str) -> list[int]:
    """Line numbers where an int literal is used as an exit status: ``sys.exit(N)``,
    ``Exit(N)`` or ``Exit(code=N)``, ``exit_code=N``, ``{"exit_code": N}``, a non-zero
    ``return N``, or ``status == N`` with N an exit code above 1 (a name that says status,
    exit or result)."""

    def literal(node: ast.AST | None) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        )

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            name = node.func.id if isinstance(node.func, ast.Name) else name
            values = [*node.args, *(kw.value for kw in node.keywords)]
            if name in ("exit", "Exit", "_exit") and any(literal(value) for value in values):
                found.append(node.lineno)
            if any(kw.arg == "exit_code" and literal(kw.value) for kw in node.keywords):
                found.append(node.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "exit_code" and literal(value):
                    found.append(node.lineno)
        elif isinstance(node, ast.Return) and literal(node.value):
            assert isinstance(node.value, ast.Constant)
            if node.value.value != 0:
                found.append(node.lineno)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            names = [ast.unparse(side).lower() for side in sides if not literal(side)]
            statusy = any(word in name for name in names for word in STATUS_WORDS)
            codes = [s for s in sides if isinstance(s, ast.Constant) and s.value in EXIT_VALUES]
            if statusy and codes:
                found.append(node.lineno)
    return found


def test_no_literal_exit_numbers_outside_the_error_tree() -> None:
    offenders = {}
    for path in sorted(CLI.rglob("*.py")):
        if path == CLI / "errors.py":
            continue
        lines = _exit_literals(path.read_text(encoding="utf-8"))
        # Only the entry point and the terminal decide or report exit statuses; elsewhere a
        # non-zero ``return N`` is an ordinary number.
        if path.name != "__main__.py" and path.parent.name != "terminal":
            source = path.read_text(encoding="utf-8")
            returns = {
                node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Return)
            }
            lines = [line for line in lines if line not in returns]
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_the_literal_scan_can_fail() -> None:
    source = (
        "import sys\n"
        "def main():\n"
        "    if status == 141:\n"
        "        return 141\n"
        "    out({'exit_code': 1})\n"
        "    sys.exit(2)\n"
        "    raise Exit(code=3) if x else Error(exit_code=4)\n"
        "    return 0\n"
    )
    assert sorted(set(_exit_literals(source))) == [3, 4, 5, 6, 7]
