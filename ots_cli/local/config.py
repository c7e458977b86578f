"""Local paths and settings: flag > ``OTS_*`` environment > config file > default.

The config file is TOML at ``<config dir>/config.toml``::

    server = "work"            # a URL, or the name of a [servers.NAME] table
    ttl = "1h"                 # default --ttl (else the server's default)
    views = 1                  # default --views
    passphrase_cost = "default"    # Argon2id cost: interactive, default or sensitive

    [servers.work]
    url = "https://ots.example.com"

    [servers.local]
    url = "http://127.0.0.1:8000"

Invariants:

- ``OTS_CONFIG_DIR`` relocates *all* local state: the config file and the receipts directory.
  Without it, platformdirs' user config dir holds the config and its user data dir the receipts.
- Parsing is strict: an unknown key, a wrong type or a bad value is a
  :class:`~ots_cli.errors.ConfigError` naming the file or variable and the expected form.
- The file is written atomically, 0600, in a 0700 directory (see :mod:`ots_cli.local.files`).
- This module never touches the network and never sees a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ots_cli.core.durations import parse_duration
from ots_cli.errors import ConfigError, UsageError
from ots_cli.local.files import ensure_dir, write_atomic

__all__ = [
    "KEYS",
    "PASSPHRASE_COSTS",
    "ConfigFile",
    "Paths",
    "Settings",
    "check_key",
    "paths_from_env",
    "resolve",
    "server_url",
]

APP_NAME = "ots"
PASSPHRASE_COSTS = ("interactive", "default", "sensitive")
_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
#: Top-level keys of the config file, with the environment variable that overrides each.
KEYS: dict[str, str] = {
    "server": "OTS_SERVER",
    "ttl": "OTS_TTL",
    "views": "OTS_VIEWS",
    "passphrase_cost": "OTS_PASSPHRASE_COST",
}


class Paths(NamedTuple):
    config_dir: Path
    config_file: Path
    receipts_dir: Path
    #: The private keys of open requests (``ots request``): :mod:`ots_cli.local.request_files`.
    requests_dir: Path


def paths_from_env(env: Mapping[str, str]) -> Paths:
    relocated = env.get("OTS_CONFIG_DIR")
    if relocated:
        base = Path(relocated).expanduser()
        return Paths(base, base / "config.toml", base / "receipts", base / "requests")
    import platformdirs  # only when not relocated: tests and CI never pay for it

    config_dir = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    data_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Paths(
        config_dir, config_dir / "config.toml", data_dir / "receipts", data_dir / "requests"
    )


class ConfigFile:
    """The parsed config file: a validated dict, loaded lazily, saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._load()
        return self._data

    def _load(self) -> dict[str, Any]:
        import tomllib

        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"{self.path} is not valid TOML: {exc}",
                hints=("fix it by hand, or remove it and use `ots config set`",),
            ) from exc
        _validate(data, source=str(self.path))
        return data

    def get(self, key: str) -> Any:
        """A dotted key (``ttl``, ``servers.work.url``); None when unset."""
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def set(self, key: str, value: str) -> None:
        parts = check_key(key)
        updated = _copy(self.data)
        node = updated
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _coerce(key, value)
        try:
            _validate(updated, source=_TYPED)
        except ConfigError as exc:  # the user typed the bad value just now
            raise UsageError(exc.message, hints=exc.hints) from None
        self._save(updated)

    def unset(self, key: str) -> bool:
        """Remove ``key``; False when it was not set. Empty server tables are dropped."""
        parts = check_key(key)
        updated = _copy(self.data)
        node = updated
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                return False
            node = node[part]
        if parts[-1] not in node:
            return False
        del node[parts[-1]]
        if parts[0] == "servers":
            servers = updated["servers"]
            for name in [name for name, table in servers.items() if not table]:
                del servers[name]
            if not servers:
                del updated["servers"]
        self._save(updated)
        return True

    def _save(self, data: dict[str, Any]) -> None:
        import tomli_w

        ensure_dir(self.path.parent)
        write_atomic(self.path, tomli_w.dumps(data).encode("utf-8"))
        self._data = data


class Settings(NamedTuple):
    """Effective settings after precedence. ``server`` is a URL or None when nothing is set."""

    server: str | None
    ttl: int | None
    views: int | None
    passphrase_cost: str


def resolve(
    *,
    env: Mapping[str, str],
    config: ConfigFile,
    server: str | None = None,
    ttl: str | None = None,
    views: int | None = None,
) -> Settings:
    """Apply flag > env > config file > default to every setting."""

    def pick(flag: Any, key: str) -> tuple[Any, str]:
        if flag is not None:
            return flag, "flag"
        variable = KEYS[key]
        if env.get(variable):
            return env[variable], variable
        return config.get(key), str(config.path)

    server_value, server_source = pick(server, "server")
    ttl_value, ttl_source = pick(ttl, "ttl")
    views_value, views_source = pick(views, "views")
    cost_value, cost_source = pick(None, "passphrase_cost")
    return Settings(
        server=None if server_value is None else server_url(server_value, config, server_source),
        ttl=None if ttl_value is None else _ttl(ttl_value, ttl_source),
        views=None if views_value is None else _views(views_value, views_source),
        passphrase_cost=_cost(cost_value or "default", cost_source),
    )


def server_url(value: str, config: ConfigFile, source: str) -> str:
    """A URL as given (trailing slash dropped), or the URL of the named ``[servers.NAME]``."""
    value = value.strip()
    if "://" in value:
        return value.rstrip("/")
    url = config.get(f"servers.{value}.url") if _SERVER_NAME.match(value) else None
    if not isinstance(url, str):
        names = sorted((config.get("servers") or {}).keys())
        error = UsageError if source == "flag" else ConfigError
        raise error(
            f"{'--server' if source == 'flag' else source}: no server named {value!r}",
            hints=(
                f"configured servers: {', '.join(names)}"
                if names
                else "give a URL such as https://ots.example.com, or add one with "
                "`ots config set servers.NAME.url URL`",
            ),
        )
    return url.rstrip("/")


#: The source of a value the user is typing now (``ots config set``): its key alone names it.
_TYPED = ""


def _name(key: str, source: str) -> str:
    """How a message names the setting ``key`` read from ``source``, once:
    ``--ttl``, ``OTS_TTL``, ``ttl`` (typed just now) or ``ttl in /path/config.toml``."""
    if source == "flag":
        return f"--{key}"
    if source == KEYS.get(key):
        return source
    if source == _TYPED:
        return key
    return f"{key} in {source}"


def _ttl(value: Any, source: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    what = _name("ttl", source)
    if not isinstance(value, str):
        raise ConfigError(f'{what} must be a duration such as "1h"')
    if source == "flag":
        return parse_duration(value, what=what)
    try:
        return parse_duration(value, what=what)
    except UsageError as exc:
        raise ConfigError(exc.message, hints=exc.hints) from None


def _views(value: Any, source: str) -> int:
    try:
        number = int(value) if not isinstance(value, bool) else -1
    except (TypeError, ValueError):
        number = -1
    if number < 1:
        error = UsageError if source == "flag" else ConfigError
        raise error(f"{_name('views', source)} must be at least 1")
    return number


def _cost(value: Any, source: str) -> str:
    if value not in PASSPHRASE_COSTS:
        raise ConfigError(
            f"{_name('passphrase_cost', source)} must be one of {', '.join(PASSPHRASE_COSTS)}"
        )
    return str(value)


def check_key(key: str) -> list[str]:
    parts = key.split(".")
    if len(parts) == 1 and parts[0] in KEYS:
        return parts
    if len(parts) == 3 and parts[0] == "servers" and parts[2] == "url":
        if not _SERVER_NAME.match(parts[1]):
            raise UsageError(
                f"invalid server name {parts[1]!r}", hints=("use letters, digits, - and _",)
            )
        return parts
    raise UsageError(
        f"unknown config key {key!r}",
        hints=(f"known keys: {', '.join(KEYS)}, servers.NAME.url",),
    )


def _coerce(key: str, value: str) -> Any:
    if key == "views":
        try:
            return int(value)
        except ValueError:
            raise UsageError("views must be a whole number") from None
    return value


def _validate(data: dict[str, Any], *, source: str) -> None:
    for key, value in data.items():
        if key == "servers":
            if not isinstance(value, dict):
                raise ConfigError(f"{_name('servers', source)} must be a table of [servers.NAME]")
            for name, table in value.items():
                if not _SERVER_NAME.match(name) or not isinstance(table, dict):
                    raise ConfigError(f"invalid server entry {_name(repr(name), source)}")
                for field, item in table.items():
                    if field != "url" or not isinstance(item, str) or "://" not in item:
                        raise ConfigError(
                            f'{_name(f"servers.{name}.{field}", source)} must be url = "https://…"'
                        )
        elif key == "server":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{_name('server', source)} must be a URL or a server name")
        elif key == "ttl":
            _ttl(value, source)
        elif key == "views":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{_name('views', source)} must be a whole number")
            _views(value, source)
        elif key == "passphrase_cost":
            _cost(value, source)
        else:
            raise ConfigError(
                f"unknown key {_name(repr(key), source)}",
                hints=(f"known keys: {', '.join(KEYS)}, [servers.NAME]",),
            )


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in data.items()}
