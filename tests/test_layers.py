"""The layers of ``ots_cli`` (and its border with ``ots_server``), checked on the import graph.

Every ``import`` counts: module level, inside functions, and under ``TYPE_CHECKING`` (a
type-only import is still a dependency a reader follows). The rules:

- ``ots_cli.core`` (the pure core) imports only the standard library, PyNaCl, the error tree
  (``ots_cli.errors``) and itself.
- ``ots_cli.api`` (the typed API client) never imports terminal, prompt, Typer, use-case or
  command modules, nor the runtime that wires them.
- ``ots_cli`` and ``ots_server`` never import each other.
- Only ``ots_cli.app`` imports command modules (commands never import each other).
- No import cycles inside ``ots_cli``.
- Only ``ots_cli.cli.typer_compat`` touches Typer's private modules (the ``typer<0.29`` seam).
- Module sizes: no non-test module of ``ots_cli`` over 400 lines; command modules' median at
  most 250.

Each rule is a function of the import graph, so the checker itself is tested on small
synthetic packages that break it (a rule that cannot fail guards nothing).
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "ots_cli"
SERVER = ROOT / "backend" / "ots_server"

MAX_LINES = 400
MAX_COMMAND_MEDIAN = 250
TYPER_SEAM = "ots_cli.cli.typer_compat"


class Import(NamedTuple):
    importer: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


Graph = dict[str, list[Import]]
#: The import graph and the uses of Typer's private modules.
Scan = tuple[Graph, list[Import]]


def _modules(directory: Path, package: str) -> dict[str, Path]:
    """Every module of the package in ``directory``, by dotted name."""
    found = {}
    for path in sorted(directory.rglob("*.py")):
        parts = [package, *path.relative_to(directory).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            # ``from pkg import module`` depends on the module; ``from module import name``
            # on the module only.
            candidate = f"{base}.{alias.name}"
            yield candidate if candidate in known else base


def _private_typer(node: ast.AST) -> str | None:
    """The Typer internals ``node`` names, if any: ``typer._x``, ``typer.core``, ``typer.main``."""

    def private(name: str) -> bool:
        parts = name.split(".")
        return (
            parts[0] == "typer"
            and len(parts) > 1
            and (parts[1].startswith("_") or parts[1] in ("core", "main"))
        )

    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        names = [f"{node.value.id}.{node.attr}"]
    else:
        return None
    return next((name for name in names if private(name)), None)


def graph(*packages: tuple[Path, str]) -> Scan:
    """The import graph of the packages (every import, wherever it is), and their uses of
    Typer's private modules."""
    modules: dict[str, Path] = {}
    for directory, package in packages:
        modules.update(_modules(directory, package))
    known = set(modules)
    edges: Graph = {}
    typer_uses = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        edges[module] = []
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            for target in _targets(node, module, is_package, known):
                edges[module].append(Import(module, target, line))
            private = _private_typer(node)
            if private is not None:
                typer_uses.append(Import(module, private, line))
    return edges, typer_uses


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _all(edges: Graph) -> Iterator[Import]:
    for imports in edges.values():
        yield from imports


# -- the rules ------------------------------------------------------------------------------


def core_violations(edges: Graph) -> list[Import]:
    allowed = {"nacl"} | set(sys.stdlib_module_names)
    return [
        edge
        for edge in _all(edges)
        if _within(edge.importer, "ots_cli.core")
        and not _within(edge.target, "ots_cli.core")
        and edge.target != "ots_cli.errors"
        and edge.target.split(".")[0] not in allowed
    ]


API_MAY_NOT_IMPORT = (
    "ots_cli.terminal",
    "ots_cli.commands",
    "ots_cli.cli",
    "ots_cli.usecases",
    "ots_cli.app",
    "ots_cli.__main__",
    "ots_cli.runtime",
    "typer",
    "rich",
)


def api_violations(edges: Graph) -> list[Import]:
    return [
        edge
        for edge in _all(edges)
        if _within(edge.importer, "ots_cli.api")
        and any(_within(edge.target, banned) for banned in API_MAY_NOT_IMPORT)
    ]


def border_violations(edges: Graph) -> list[Import]:
    return [
        edge
        for edge in _all(edges)
        if (_within(edge.importer, "ots_cli") and _within(edge.target, "ots_server"))
        or (_within(edge.importer, "ots_server") and _within(edge.target, "ots_cli"))
    ]


def command_violations(edges: Graph) -> list[Import]:
    return [
        edge
        for edge in _all(edges)
        if _within(edge.target, "ots_cli.commands")
        and edge.target != "ots_cli.commands"
        and edge.importer != "ots_cli.app"
    ]


def cycles(edges: Graph, package: str = "ots_cli") -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)
    among the package's modules (Tarjan, iterative)."""
    nodes = [m for m in edges if _within(m, package)]
    succ = {
        m: sorted({e.target for e in edges[m] if e.target in edges and _within(e.target, package)})
        for m in nodes
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in succ[node]:
                    found.append(sorted(component))
    return found


def typer_violations(typer_uses: Iterable[Import]) -> list[Import]:
    return [use for use in typer_uses if use.importer != TYPER_SEAM]


def size_violations(directory: Path, package: str) -> list[str]:
    problems = []
    commands = []
    for module, path in _modules(directory, package).items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{module}: {lines} lines (at most {MAX_LINES})")
        if _within(module, f"{package}.commands") and path.name != "__init__.py":
            commands.append(lines)
    if commands and statistics.median(commands) > MAX_COMMAND_MEDIAN:
        median = statistics.median(commands)
        problems.append(f"command modules' median is {median} lines (at most 250)")
    return problems


# -- the real tree --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Scan:
    return graph((CLI, "ots_cli"), (SERVER, "ots_server"))


def _show(violations: Iterable[object]) -> str:
    return "\n".join(str(v) for v in violations)


def test_the_core_imports_only_the_standard_library_nacl_and_the_errors(real: Scan) -> None:
    violations = core_violations(real[0])
    assert not violations, _show(violations)


def test_the_api_client_never_imports_terminal_prompt_or_command_modules(real: Scan) -> None:
    violations = api_violations(real[0])
    assert not violations, _show(violations)


def test_ots_cli_and_ots_server_never_import_each_other(real: Scan) -> None:
    violations = border_violations(real[0])
    assert not violations, _show(violations)


def test_only_the_app_imports_commands(real: Scan) -> None:
    violations = command_violations(real[0])
    assert not violations, _show(violations)


def test_no_import_cycles_in_ots_cli(real: Scan) -> None:
    assert cycles(real[0]) == []


def test_only_the_compat_module_touches_typer_internals(real: Scan) -> None:
    violations = typer_violations(real[1])
    assert not violations, _show(violations)
    assert any(use.importer == TYPER_SEAM for use in real[1])  # the scan sees the seam


def test_module_sizes() -> None:
    assert size_violations(CLI, "ots_cli") == []


def test_the_graph_sees_every_kind_of_import(real: Scan) -> None:
    edges = real[0]
    # module level, inside a function, and under TYPE_CHECKING, in ots_cli.usecases.wait
    targets = {edge.target for edge in edges["ots_cli.usecases.wait"]}
    assert {"ots_cli.runtime", "ots_cli.core.render", "ots_cli.usecases.upload"} <= targets


# -- the checker can fail -------------------------------------------------------------------


def _package(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[Path, str]:
    root = tmp_path / name
    for relative, text in {"__init__.py": "", **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root, name


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    cli = _package(
        tmp_path,
        "ots_cli",
        {
            "errors.py": "",
            "app.py": "from ots_cli.commands import share\n",
            "core/__init__.py": "",
            "core/format.py": "import os\nimport httpx\nfrom ots_cli import errors\n",
            "core/links.py": "def f():\n    from ots_cli.terminal.output import visible\n",
            "api/__init__.py": "",
            "api/client.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from ots_cli.terminal import prompts\n"
            ),
            "terminal/__init__.py": "",
            "terminal/output.py": "from ots_server import settings\n",
            "terminal/prompts.py": "",
            "commands/__init__.py": "",
            "commands/share.py": "from . import get\nfrom ots_cli.usecases import a\n",
            "commands/get.py": "import typer\nx = typer.main.get_command\n",
            "usecases/__init__.py": "",
            "usecases/a.py": "def f():\n    from ots_cli.usecases import b\n",
            "usecases/b.py": "from ots_cli.usecases.a import f\n",
            "cli/__init__.py": "",
            "cli/typer_compat.py": "from typer import _click as click\n",
        },
    )
    server = _package(tmp_path, "ots_server", {"parsers.py": "from ots_cli import errors\n"})
    edges, typer_uses = graph(cli, server)

    assert [str(v) for v in core_violations(edges)] == [
        "ots_cli.core.format:2 imports httpx",
        "ots_cli.core.links:2 imports ots_cli.terminal.output",
    ]
    assert [str(v) for v in api_violations(edges)] == [
        "ots_cli.api.client:3 imports ots_cli.terminal.prompts"
    ]
    assert sorted(str(v) for v in border_violations(edges)) == [
        "ots_cli.terminal.output:1 imports ots_server",
        "ots_server.parsers:1 imports ots_cli.errors",
    ]
    assert [str(v) for v in command_violations(edges)] == [
        "ots_cli.commands.share:1 imports ots_cli.commands.get"
    ]
    assert cycles(edges) == [["ots_cli.usecases.a", "ots_cli.usecases.b"]]
    assert [str(v) for v in typer_violations(typer_uses)] == [
        "ots_cli.commands.get:2 imports typer.main"
    ]


def test_a_self_import_is_a_cycle_and_a_clean_package_passes(tmp_path: Path) -> None:
    looped = _package(tmp_path, "ots_cli", {"a.py": "import ots_cli.a\n", "b.py": "import os\n"})
    assert cycles(graph(looped)[0]) == [["ots_cli.a"]]
    clean = _package(tmp_path / "clean", "ots_cli", {"a.py": "from ots_cli import b\n", "b.py": ""})
    edges, typer_uses = graph(clean)
    assert cycles(edges) == []
    assert core_violations(edges) == api_violations(edges) == command_violations(edges) == []
    assert typer_violations(typer_uses) == []


def test_the_size_rules_can_fail(tmp_path: Path) -> None:
    long = "x = 1\n" * (MAX_LINES + 1)
    medium = "x = 1\n" * (MAX_COMMAND_MEDIAN + 1)
    root, name = _package(
        tmp_path,
        "ots_cli",
        {"big.py": long, "commands/__init__.py": "", "commands/a.py": medium, "commands/b.py": ""},
    )
    too_long = f"ots_cli.big: {MAX_LINES + 1} lines (at most {MAX_LINES})"
    assert size_violations(root, name) == [too_long]  # commands' median: of 251 and 0
    (root / "commands" / "c.py").write_text(medium, encoding="utf-8")
    assert size_violations(root, name) == [
        too_long,
        f"command modules' median is {MAX_COMMAND_MEDIAN + 1} lines (at most 250)",
    ]
