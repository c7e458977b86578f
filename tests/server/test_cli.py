"""The operator command: help lists every variable, bad settings fail fast naming the variable,
``purge`` sweeps once; and docs/server.md documents every variable with its default."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from processes import server_command

from ots_server.cli import main
from ots_server.store.sqlite.store import SQLiteStore
from ots_server.variables import VARIABLES

from .request_support import SimRequest
from .support import START, SimSecret

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["purge", "--help"]])
def test_help_lists_every_variable(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for variable in VARIABLES:
        assert variable.name in out
        assert f"[{variable.default}]" in out


def test_console_script_runs() -> None:
    result = subprocess.run(
        [*server_command(), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0
    assert "OTS_STORE_URL" in result.stdout


def test_bad_setting_exits_3_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTS_TTL_MAX", "forever")
    assert main(["serve"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("ots-server: error: OTS_TTL_MAX: expected a duration")


def test_unopenable_store_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OTS_STORE_URL", f"sqlite://{blocker}/ots.sqlite3")
    assert main(["purge"]) == 3
    assert capsys.readouterr().err == (
        f"ots-server: error: OTS_STORE_URL: {blocker} is not a directory\n"
    )


def test_bad_workers_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["serve", "--workers", "0"])
    assert exit.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_purge_sweeps_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "purge.sqlite3"
    store = SQLiteStore(path)
    secret = SimSecret.make()
    asyncio.run(store.create(secret.new_secret(START, ttl=60, grace=60)))  # long expired
    for _ in range(2):
        asyncio.run(store.create_request(SimRequest.make().new_request(START, ttl=60, grace=60)))
    store.close_sync()
    monkeypatch.setenv("OTS_STORE_URL", f"sqlite://{path}")
    assert main(["purge"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "expired": 1,
        "purged": 1,
        "requests_expired": 2,
        "requests_purged": 2,
    }


def test_operator_docs_list_every_variable_with_its_default() -> None:
    text = DOCS.read_text()
    for variable in VARIABLES:
        row = next((line for line in text.splitlines() if f"`{variable.name}`" in line), None)
        assert row is not None, f"{variable.name} is missing from docs/server.md"
        assert variable.default.replace("|", "\\|") in row, variable.name


def _blocked_entry(blocked: tuple[str, ...], argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The installed ``ots-server`` console script's entry point, run with ``blocked`` made
    unimportable (``sys.modules[name] = None``), as on an install without the server extra."""
    [script] = entry_points(group="console_scripts", name="ots-server")
    module, _, attribute = script.value.partition(":")
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n    sys.modules[name] = None\n"
        f"sys.argv = ['ots-server', *{argv!r}]\n"
        f"from {module} import {attribute}\n{attribute}()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize(
    ("blocked", "argv"),
    [
        (("starlette", "uvicorn"), ["--help"]),
        (("starlette",), ["serve"]),
        (("uvicorn",), ["purge"]),
        (("redis",), ["accounts", "list"]),
    ],
)
def test_without_the_server_extra_the_script_says_what_to_install(
    blocked: tuple[str, ...], argv: list[str]
) -> None:
    result = _blocked_entry(blocked, argv)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"ots-server: error: the server needs the optional dependencies of ots-cli[server] "
        f"(missing: {', '.join(blocked)}); install them with: pip install 'ots-cli[server]'\n"
    )


def test_with_the_server_extra_the_entry_point_runs() -> None:
    result = _blocked_entry((), ["--help"])
    assert (result.returncode, result.stderr) == (0, "")
    assert "OTS_STORE_URL" in result.stdout


@pytest.mark.parametrize("argv", [["purge"], ["accounts", "list"]])
def test_a_misspelled_variable_is_warned_about_without_its_value(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OTS_STORE_URL", f"sqlite://{tmp_path / 'typo.sqlite3'}")
    monkeypatch.setenv("OTS_TTL_MAXX", "s3cret-looking-value")
    monkeypatch.setenv("OTS_SERVER", "https://ots.example.org")  # the CLI's: no warning
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err == (
        "ots-server: warning: OTS_TTL_MAXX is not a setting of ots-server and is ignored; "
        "did you mean OTS_TTL_MAX?\n"
    )
