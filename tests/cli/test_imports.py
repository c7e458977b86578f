"""Start-up cost: heavy modules load only on the code paths that use them (bench/README.md).

Each case runs a fresh interpreter (modules already imported by pytest would hide a regression)
and lists the top-level packages it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .support import cli_env

_PROBE = """
import io, json, sys
sys.modules.setdefault("httpx._main", None)  # as the console script does
from ots_cli.__main__ import main
argv = json.loads(sys.argv[1])
code = main(argv, stdin=io.BytesIO(b"x"), stdout=io.BytesIO(), stderr=io.BytesIO())
loaded = {m.split(".")[0] for m, module in sys.modules.items() if module is not None}
print(json.dumps([code, sorted(loaded)]))
"""


def _imported(argv: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    code, modules = json.loads(done.stdout)
    return code, set(modules)


def test_version_imports_neither_typer_nor_httpx() -> None:
    code, modules = _imported(["--version"], cli_env())
    assert code == 0
    assert not modules & {"typer", "httpx", "nacl", "rich", "platformdirs", "typing"}


@pytest.mark.parametrize("argv", [["config", "path"], ["generate"], ["completion", "bash"]])
def test_local_commands_import_no_network_or_crypto(argv: list[str]) -> None:
    code, modules = _imported(argv, cli_env())
    assert code == 0
    assert not modules & {"httpx", "nacl", "rich", "segno", "keyring"}


def test_share_imports_no_rich_segno_or_keyring() -> None:
    # The server is unreachable: the import set up to the request is what counts.
    code, modules = _imported(["share"], cli_env(OTS_SERVER="http://127.0.0.1:9"))
    assert code == 9
    assert {"httpx", "nacl"} <= modules
    assert not modules & {"rich", "segno", "keyring", "pygments", "click"}
