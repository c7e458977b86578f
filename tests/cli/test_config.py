"""Settings: flag > OTS_* environment > config file > default, strict parsing, private files."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from .support import SERVER, Runner, cli_env


@pytest.fixture
def no_server_env() -> dict[str, str]:
    env = cli_env()
    del env["OTS_SERVER"]
    return env


def _ttl_of(ots: Runner, *argv: str, env: dict[str, str] | None = None) -> int:
    result = ots("--json", "share", *argv, stdin=b"x", env=env)
    assert result.code == 0, result.err
    document = result.json()
    return int(document["expires_at"]) - int(document["created_at"])


def test_config_path_is_under_ots_config_dir(ots: Runner, tmp_path: Path) -> None:
    result = ots("--json", "config", "path")
    assert result.json() == {
        "config_file": str(tmp_path / "ots-config" / "config.toml"),
        "receipts_dir": str(tmp_path / "ots-config" / "receipts"),
    }
    # The human form names both, as the help says, one per line, config file first.
    assert ots("config", "path").text == (
        f"config_file = {tmp_path / 'ots-config' / 'config.toml'}\n"
        f"receipts_dir = {tmp_path / 'ots-config' / 'receipts'}\n"
    )


def test_without_ots_config_dir_platformdirs_decides(
    ots: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTS_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    env = cli_env()
    document = ots("--json", "config", "path", env=env).json()
    assert document["config_file"] == str(tmp_path / "xdg-config" / "ots" / "config.toml")
    assert document["receipts_dir"] == str(tmp_path / "xdg-data" / "ots" / "receipts")


def test_set_get_unset_and_private_atomic_files(
    ots: Runner, tmp_path: Path, no_server_env: dict[str, str]
) -> None:
    assert ots("config", "set", "server", SERVER).code == 0
    config_dir = tmp_path / "ots-config"
    config_file = config_dir / "config.toml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert tomllib.loads(config_file.read_text()) == {"server": SERVER}
    assert ots("config", "get", "server").text == SERVER + "\n"
    assert ots("config", "set", "ttl", "2h").code == 0
    assert ots("config", "set", "views", "3").code == 0
    assert ots("--json", "config", "get", "views").json() == {"key": "views", "value": 3}
    assert [p.name for p in config_dir.iterdir()] == ["config.toml"]  # no temp files left
    shared = ots("--json", "share", stdin=b"x", env=no_server_env)
    assert shared.code == 0, shared.err
    assert shared.json()["views"] == 3
    assert ots("--json", "config", "unset", "ttl").json() == {"key": "ttl", "removed": True}
    assert ots("--json", "config", "unset", "ttl").json() == {"key": "ttl", "removed": False}
    assert ots("config", "get", "ttl").out == b""


def test_precedence_flag_over_env_over_file_over_default(ots: Runner) -> None:
    assert _ttl_of(ots) == 86400  # the server's default
    ots("config", "set", "ttl", "2h")
    assert _ttl_of(ots) == 7200
    env = cli_env(OTS_TTL="3h")
    assert _ttl_of(ots, env=env) == 10800
    assert _ttl_of(ots, "--ttl", "4h", env=env) == 14400


def test_named_servers(ots: Runner, no_server_env: dict[str, str]) -> None:
    ots("config", "set", "servers.local.url", SERVER)
    ots("config", "set", "server", "local")
    assert ots("share", stdin=b"x", env=no_server_env).text.startswith(SERVER + "/s/")
    assert ots("--server", "local", "share", stdin=b"x").code == 0
    unknown = ots("--server", "elsewhere", "share", stdin=b"x")
    assert unknown.code == 2
    assert "configured servers: local" in unknown.err
    shown = ots("--json", "config", "show", env=no_server_env).json()
    assert shown["server_url"] == SERVER
    assert shown["servers"] == {"local": SERVER}
    assert shown["settings"]["server"] == {"value": "local", "source": "file"}


def test_show_names_the_source_of_each_setting(ots: Runner) -> None:
    shown = ots("--json", "config", "show", env=cli_env(OTS_VIEWS="2")).json()
    assert shown["settings"]["server"] == {"value": SERVER, "source": "OTS_SERVER"}
    assert shown["settings"]["views"] == {"value": "2", "source": "OTS_VIEWS"}
    assert shown["settings"]["ttl"] == {"value": None, "source": "default"}
    human = ots("config", "show").text
    assert f"server = {SERVER}  [OTS_SERVER]" in human


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("colour", "yes"),
        ("ttl", "soon"),
        ("views", "0"),
        ("views", "x"),
        ("servers.bad name.url", "https://x"),
        ("passphrase_cost", "extreme"),
    ],
)
def test_set_refuses_bad_keys_and_values(ots: Runner, key: str, value: str) -> None:
    result = ots("config", "set", key, value)
    assert result.code == 2, result.err
    assert result.err.startswith("ots: error: ")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ttl", "banana", "invalid duration 'banana' for ttl: use e.g. 30m, 1h, 2d, 1w"),
        ("ttl", "0", "the duration for ttl must be positive"),
        ("views", "0", "views must be at least 1"),
        (
            "passphrase_cost",
            "extreme",
            "passphrase_cost must be one of interactive, default, sensitive",
        ),
        ("server", " ", "server must be a URL or a server name"),
        ("servers.work.url", "work", 'servers.work.url must be url = "https://…"'),
    ],
)
def test_set_names_the_key_once(ots: Runner, key: str, value: str, message: str) -> None:
    result = ots("config", "set", key, value)
    assert result.code == 2
    assert result.err.splitlines()[0] == f"ots: error: {message}"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--ttl", "1 hour"], {}, "invalid duration '1 hour' for --ttl: use e.g."),
        ([], {"OTS_TTL": "1 hour"}, "invalid duration '1 hour' for OTS_TTL: use e.g."),
        ([], {"OTS_VIEWS": "0"}, "OTS_VIEWS must be at least 1"),
    ],
)
def test_flags_and_variables_are_named_once(
    ots: Runner, argv: list[str], env: dict[str, str], message: str
) -> None:
    result = ots("share", *argv, stdin=b"x", env=cli_env(**env))
    assert result.code in (2, 3)
    assert result.err.startswith(f"ots: error: {message}")


def test_a_bad_ttl_in_the_file_names_key_and_file_once(ots: Runner, tmp_path: Path) -> None:
    config_dir = tmp_path / "ots-config"
    config_dir.mkdir(mode=0o700)
    (config_dir / "config.toml").write_text('ttl = "forever"')
    result = ots("share", stdin=b"x")
    assert result.code == 3
    assert result.err.startswith(
        f"ots: error: invalid duration 'forever' for ttl in {config_dir / 'config.toml'}: use e.g."
    )


@pytest.mark.parametrize(
    "content",
    [
        "server = [",  # not TOML
        'colour = "yes"',  # unknown key
        'views = "many"',  # wrong type
        'ttl = "forever"',
        '[servers.x]\nhost = "h"',
    ],
)
def test_a_bad_config_file_exits_3_naming_the_file(
    ots: Runner, tmp_path: Path, content: str
) -> None:
    config_dir = tmp_path / "ots-config"
    config_dir.mkdir(mode=0o700)
    (config_dir / "config.toml").write_text(content)
    result = ots("share", stdin=b"x")
    assert result.code == 3
    assert str(config_dir / "config.toml") in result.err


def test_a_bad_environment_variable_exits_3_naming_it(ots: Runner) -> None:
    result = ots("share", stdin=b"x", env=cli_env(OTS_VIEWS="lots"))
    assert result.code == 3
    assert "OTS_VIEWS" in result.err
    bad_ttl = ots("share", stdin=b"x", env=cli_env(OTS_TTL="1 hour"))
    assert bad_ttl.code == 3
    assert "OTS_TTL" in bad_ttl.err


def test_a_config_file_written_by_another_umask_is_still_0600(ots: Runner, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        assert ots("config", "set", "views", "2").code == 0
    finally:
        os.umask(old)
    path = tmp_path / "ots-config" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
