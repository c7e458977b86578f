"""Start-up cost: heavy modules load only on the code paths that use them (bench/README.md).

Each case runs a fresh interpreter (modules already imported by pytest would hide a regression)
and lists the top-level packages it imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    # The server is unreachable: the import set up to the first request (the server's limits,
    # asked before anything is sealed) is what counts.
    code, modules = _imported(["share"], cli_env(OTS_SERVER="http://127.0.0.1:9"))
    assert code == 9
    assert "httpx" in modules
    assert not modules & {"rich", "segno", "keyring", "pygments", "click"}


def test_share_with_a_token_in_the_environment_imports_no_keyring() -> None:
    token = "ots_" + "A" * 43
    code, modules = _imported(["share"], cli_env(OTS_SERVER="http://127.0.0.1:9", OTS_TOKEN=token))
    assert code == 9
    assert "keyring" not in modules


def test_the_keyring_is_imported_only_for_a_server_with_a_login_marker() -> None:
    env = cli_env(OTS_SERVER="http://127.0.0.1:9")
    tokens = Path(env["OTS_CONFIG_DIR"]) / "tokens"
    tokens.mkdir(parents=True)
    (tokens / "127.0.0.1%3A9.keyring").write_bytes(b"")
    # keyring's "fail" backend (cli_env): the stored token cannot be read, which is exit 3.
    code, modules = _imported(["share"], env)
    assert code == 3
    assert "keyring" in modules
    # Reading a link never needs an account: not even a marker brings the keyring in.
    link = "http://127.0.0.1:9/s/" + "A" * 22 + "#" + "A" * 43
    code, modules = _imported(["get", link], env)
    assert code == 9
    assert "keyring" not in modules
    (tokens / "127.0.0.1%3A9.keyring").unlink()
    code, modules = _imported(["share"], env)
    assert code == 9
    assert "keyring" not in modules


@pytest.mark.parametrize(
    "argv",
    [
        ["request"],
        [
            "respond",
            "http://127.0.0.1:9/r/" + "A" * 22 + "#cDjjRYsBuycRK-ca089XRBPyW2O0dasJLPp986JEEFI",
        ],
    ],
)
def test_request_and_respond_import_no_rich_segno_or_keyring(argv: list[str]) -> None:
    code, modules = _imported(argv, cli_env(OTS_SERVER="http://127.0.0.1:9"))
    assert code == 9
    assert not modules & {"rich", "segno", "keyring", "pygments", "click"}
