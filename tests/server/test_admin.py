"""The operator's account commands, ``ots-server accounts …``, on a SQLite file and on Redis:
the token on stdout once and nothing else there, exit statuses, listing without tokens or
hashes, and the console script end to end."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli.support import Terminal
from processes import server_command

from ots_server.accounts import hash_token
from ots_server.cli import main
from ots_server.store import Principal, open_store

from .redis_support import delete_prefix, machine_client, machine_url, unique_prefix

TOKEN = re.compile(r"ots_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\n")


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'admin.sqlite3'}"
        return
    request.getfixturevalue("machine_redis")
    prefix = unique_prefix("admin")
    try:
        yield machine_url(prefix)
    finally:
        with machine_client() as client:
            delete_prefix(client, prefix)


def _run(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("OTS_STORE_URL", url)
    try:
        code = main(["accounts", *argv])
    except SystemExit as exit:  # argparse: a usage error
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _authenticate(url: str, token: str) -> Principal:
    async def run() -> Principal:
        store = open_store(url)
        try:
            return await store.authenticate(hash_token(token), 1_790_000_000)
        finally:
            await store.close()

    return asyncio.run(run())


def test_the_account_lifecycle(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(store_url, monkeypatch, capsys, "add", "Nina@Example.org")
    assert (code, TOKEN.fullmatch(out) is not None) == (0, True)
    assert "Nina@example.org" in err
    assert out.strip() not in err
    first = out.strip()
    assert _authenticate(store_url, first).token_name == "default"
    code, out, err = _run(store_url, monkeypatch, capsys, "add", "nina@EXAMPLE.org")
    assert (code, out) == (1, "")
    assert err == "ots-server: error: an account with the email nina@example.org exists\n"
    code, second, _ = _run(store_url, monkeypatch, capsys, "token", "add", "nina@example.org")
    assert code == 0
    assert TOKEN.fullmatch(second)
    code, third, _ = _run(
        store_url,
        monkeypatch,
        capsys,
        "token",
        "add",
        "NINA@example.org",
        "--token-name",
        "ci.main",
    )
    assert code == 0
    assert TOKEN.fullmatch(third)
    assert len({first, second.strip(), third.strip()}) == 3
    code, out, err = _run(
        store_url,
        monkeypatch,
        capsys,
        "token",
        "add",
        "nina@example.org",
        "--token-name",
        "ci.main",
    )
    assert (code, out) == (1, "")
    assert "has a token named 'ci.main'" in err
    code, out, _ = _run(store_url, monkeypatch, capsys, "list", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["email"] == "Nina@example.org"
    assert sorted(t["name"] for t in listed["tokens"]) == ["ci.main", "default", "token-2"]
    for token in (first, second, third):
        assert token.strip()[4:] not in out
        assert hash_token(token.strip()).hex() not in out
    code, out, _ = _run(store_url, monkeypatch, capsys, "list")
    assert out.startswith("Nina@example.org\tcreated ")
    assert "default (last used 2026-09-21)" in out
    assert "token-2 (never used)" in out
    revoke = ("token", "revoke", "nina@example.org", "--token-name", "ci.main")
    code, _, err = _run(store_url, monkeypatch, capsys, *revoke)
    assert code == 0
    assert "revoked" in err
    code, _, err = _run(store_url, monkeypatch, capsys, *revoke)
    assert code == 1
    assert "no token named 'ci.main'" in err
    code, _, err = _run(store_url, monkeypatch, capsys, "delete", "nina@example.org", "--yes")
    assert code == 0
    assert "deleted" in err
    code, _, err = _run(store_url, monkeypatch, capsys, "delete", "nina@example.org", "--yes")
    assert (code, err) == (1, "ots-server: error: no account has the email nina@example.org\n")
    assert _run(store_url, monkeypatch, capsys, "list", "--json")[1] == "[]\n"


@pytest.mark.parametrize(
    ("argv", "usage", "message"),
    [
        (["add", "no-at-sign"], "add", "argument EMAIL: expected exactly one @"),
        (["add", "a@b"], "add", "argument EMAIL: the domain must be a host name with a dot"),
        (["add", "a b@example.org"], "add", "argument EMAIL: the part before @ has white space"),
        (["add", "ok@example.org", "--token-name", "bad name"], "add",
         "argument --token-name: expected 1 to 64"),
        (["add", "ok@example.org", "--token-name", "x" * 65], "add",
         "argument --token-name: expected 1 to 64"),
        (["token", "revoke", "@example.org", "--token-name", "x"], "token revoke",
         "argument EMAIL: the part before @ must have 1 to 64"),
        (["token", "revoke", "ok@example.org", "x"], "token revoke",
         "the following arguments are required: --token-name"),
        (["token", "add", "ok@example.org", "--name", "x"], "token add",
         "unrecognized arguments: --name x"),
        (["delete"], "delete", "the following arguments are required: EMAIL"),
    ],
)  # fmt: skip
def test_malformed_arguments_show_the_usage_exit_2_and_store_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    usage: str,
    message: str,
) -> None:
    url = f"sqlite://{tmp_path / 'bad.sqlite3'}"
    code, out, err = _run(url, monkeypatch, capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"usage: ots-server accounts {usage} [-h]"), err
    assert f"\nots-server accounts {usage}: error: {message}" in err, err
    assert _run(url, monkeypatch, capsys, "list", "--json")[1] == "[]\n"


@pytest.mark.parametrize("argv", [["add"], ["delete"], ["token", "add"], ["token", "revoke"]])
def test_help_names_tokens_one_way(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["accounts", *argv, "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "TOKEN_NAME" not in out
    assert "[default]" not in out
    if argv != ["delete"]:
        assert "--token-name NAME" in out
    assert "--name" not in out


def _delete_at_a_terminal(url: str, answer: bytes) -> tuple[int, str, str]:
    """``accounts delete`` with stdin and stderr on a pseudo-terminal; ``answer`` typed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    env["OTS_STORE_URL"] = url
    terminal = Terminal(["accounts", "delete", "nina@example.org"], env, command=server_command())
    try:
        terminal.expect(b"[y/N] ")
        terminal.type(answer)
        code = terminal.finish()
    finally:
        terminal.close()
    return code, terminal.screen.decode(), terminal.out.decode()


@pytest.mark.parametrize(("answer", "kept"), [(b"y\n", False), (b"n\n", True), (b"\n", True)])
def test_delete_asks_at_a_terminal(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: bytes,
    kept: bool,
) -> None:
    url = f"sqlite://{tmp_path / 'ask.sqlite3'}"
    assert _run(url, monkeypatch, capsys, "add", "nina@example.org")[0] == 0
    code, screen, out = _delete_at_a_terminal(url, answer)
    assert "Delete the account nina@example.org and its 1 token?" in screen
    assert out == ""
    listed = json.loads(_run(url, monkeypatch, capsys, "list", "--json")[1])
    assert (len(listed) == 1) is kept
    if kept:
        assert code == 1
        assert "ots-server: kept the account nina@example.org; nothing was deleted" in screen
    else:
        assert code == 0
        assert "deleted the account nina@example.org" in screen


def test_delete_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    env["OTS_STORE_URL"] = f"sqlite://{tmp_path / 'script.sqlite3'}"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*server_command(), "accounts", *argv],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )

    assert run("add", "nina@example.org").returncode == 0
    refused = run("delete", "nina@example.org")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "ots-server: error: not deleting the account nina@example.org without a confirmation: "
        "stdin is not a terminal; pass --yes to delete without asking\n"
    )
    assert "nina@example.org" in run("list").stdout
    deleted = run("delete", "nina@example.org", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert run("list").stdout == ""


def test_commands_on_unknown_accounts_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path / 'empty.sqlite3'}"
    for argv in (["delete", "x@example.org", "--yes"], ["token", "add", "x@example.org"]):
        code, out, err = _run(url, monkeypatch, capsys, *argv)
        assert (code, out) == (1, "")
        assert err == "ots-server: error: no account has the email x@example.org\n"


def test_a_bad_setting_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTS_ACCOUNT_TTL_MAX", "1h")
    assert main(["accounts", "list"]) == 3
    assert "OTS_ACCOUNT_TTL_MAX" in capsys.readouterr().err


def test_the_console_script_prints_only_the_token_on_stdout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    env["OTS_STORE_URL"] = f"sqlite://{tmp_path / 'script.sqlite3'}"
    result = subprocess.run(
        [*server_command(), "accounts", "add", "oscar@example.org", "--token-name", "laptop"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert TOKEN.fullmatch(result.stdout)
    assert result.stdout.strip() not in result.stderr
    assert "oscar@example.org" in result.stderr
