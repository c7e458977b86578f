"""Strict parsing of a Redis ``OTS_STORE_URL`` into a :class:`RedisTarget`; pure, no I/O.

Accepted forms (``rediss`` instead of ``redis`` in any of them means TLS)::

    redis://[[user]:password@]host[:port][/db][?options]
    redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/service_name[/db][?options]
    redis+cluster://[[user]:password@]host[:port][,host[:port]…][?options]

The user and password (percent-encoded if need be) are those of the Redis server (for Sentinel:
of the primary; the Sentinels' own credentials are options). Ports default to 6379 (26379 for
Sentinels). ``db`` is a database number (default 0); Redis Cluster has only database 0.

Options (each at most once; anything else is an error):

- ``prefix``: the first part of every key (default ``ots``), 1..64 of ``A-Z a-z 0-9 . _ : -``;
  several deployments (or test runs) can share one Redis with different prefixes.
- ``socket_timeout``, ``connect_timeout``: seconds (default 2 and 2), greater than 0, at
  most 60. A command that gets no answer within ``socket_timeout`` fails (the request gets
  503), so a stalled Redis never hangs requests.
- ``max_connections``: connections per process (per Cluster node), 1..10000, default 64.
- ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``: absolute paths (TLS only): the CA
  bundle to verify the server with, and a client certificate. The server certificate and host
  name are always verified.
- ``sentinel_username``, ``sentinel_password``: credentials of the Sentinels (Sentinel only).

Error messages name the part that is wrong but never echo the URL or any part of it: it may
hold a password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

Mode = Literal["standalone", "sentinel", "cluster"]

SCHEMES: dict[str, tuple[Mode, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
DEFAULT_PREFIX = "ots"
DEFAULT_TIMEOUT = 2.0
DEFAULT_MAX_CONNECTIONS = 64
#: Largest ciphertext the Redis store takes (``OTS_MAX_BYTES`` above it is refused): a create
#: sends the blob as one script argument and Redis holds every live blob in memory.
REDIS_MAX_BYTES = 16 * 1024 * 1024

_HOST = re.compile(r"\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+)")
_PORT = re.compile(r"[0-9]{1,5}")
_PREFIX = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SERVICE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_DB = re.compile(r"[0-9]{1,4}")
_COUNT = re.compile(r"[0-9]{1,5}")
_SECONDS = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?")
_OPTIONS = frozenset(
    {
        "prefix",
        "socket_timeout",
        "connect_timeout",
        "max_connections",
        "ssl_ca_certs",
        "ssl_certfile",
        "ssl_keyfile",
        "sentinel_username",
        "sentinel_password",
    }
)
_TLS_OPTIONS = frozenset({"ssl_ca_certs", "ssl_certfile", "ssl_keyfile"})
_SENTINEL_OPTIONS = frozenset({"sentinel_username", "sentinel_password"})


@dataclass(frozen=True)
class RedisTarget:
    """Where and how to reach Redis; built only by :func:`parse_redis_url`."""

    mode: Mode
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    db: int = 0
    service: str | None = None
    prefix: str = DEFAULT_PREFIX
    socket_timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    def __repr__(self) -> str:  # never show the credentials
        return f"RedisTarget(mode={self.mode!r}, tls={self.tls}, prefix={self.prefix!r})"


def is_redis_url(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme in SCHEMES


def _hosts(text: str, default_port: int, many: bool) -> tuple[tuple[str, int], ...]:
    if text == "":
        raise ValueError("expected a host name")
    hosts: list[tuple[str, int]] = []
    for item in text.split(","):
        match = _HOST.match(item)
        if match is None:
            raise ValueError("expected host[:port] (an IPv6 address in brackets)")
        host = match.group("v6") or match.group("name")
        rest = item[match.end() :]
        port = default_port
        if rest:
            if not rest.startswith(":") or _PORT.fullmatch(rest[1:]) is None:
                raise ValueError("expected host[:port] with a port of 1..65535")
            port = int(rest[1:])
            if not 1 <= port <= 65535:
                raise ValueError("expected a port of 1..65535")
        hosts.append((host, port))
    if not many and len(hosts) != 1:
        raise ValueError("expected exactly one host (use redis+cluster:// or redis+sentinel://)")
    return tuple(hosts)


def _db(text: str) -> int:
    if _DB.fullmatch(text) is None or int(text) > 1000:
        raise ValueError("expected a database number 0..1000 as the path")
    return int(text)


def _seconds(name: str, text: str) -> float:
    if _SECONDS.fullmatch(text) is None or not 0 < float(text) <= 60:
        raise ValueError(f"{name}: expected seconds, more than 0 and at most 60 (e.g. 2 or 0.5)")
    return float(text)


def _absolute(name: str, text: str) -> str:
    if not text.startswith("/"):
        raise ValueError(f"{name}: expected an absolute path")
    return text


def _options(query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    if query == "":
        return options
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if not sep or name not in _OPTIONS:
            raise ValueError("unknown option; allowed: " + ", ".join(sorted(_OPTIONS)))
        if name in options:
            raise ValueError(f"{name}: given twice")
        options[name] = unquote(value)
    return options


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if userinfo == "":
        return None, None
    user, sep, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if sep else None)


def parse_redis_url(text: str) -> RedisTarget:
    """Parse ``text`` strictly; raise ``ValueError`` with a message that echoes nothing."""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError("expected a scheme of " + ", ".join(f"{s}://" for s in SCHEMES))
    mode, tls = SCHEMES[scheme]
    if "#" in rest:
        raise ValueError("a fragment (#) is not allowed")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    username, password = _credentials(userinfo if at else "")
    hosts = _hosts(hostlist, 26379 if mode == "sentinel" else 6379, mode != "standalone")
    parts = path.split("/") if slash and path else []
    db, service = 0, None
    if mode == "sentinel":
        if not parts or _SERVICE.fullmatch(parts[0]) is None or len(parts) > 2:
            raise ValueError("expected /service_name[/db] after the Sentinel hosts")
        service = parts[0]
        db = _db(parts[1]) if len(parts) == 2 else 0
    elif mode == "cluster":
        if parts and parts != ["0"]:
            raise ValueError("Redis Cluster has only database 0; leave the path out")
    elif parts:
        if len(parts) != 1:
            raise ValueError("expected a database number 0..1000 as the path")
        db = _db(parts[0])
    options = _options(query)
    if not tls and _TLS_OPTIONS & options.keys():
        raise ValueError(
            "ssl_* options need TLS (rediss://, rediss+sentinel://, rediss+cluster://)"
        )
    if mode != "sentinel" and _SENTINEL_OPTIONS & options.keys():
        raise ValueError("sentinel_* options are only for redis+sentinel://")
    prefix = options.get("prefix", DEFAULT_PREFIX)
    if _PREFIX.fullmatch(prefix) is None:
        raise ValueError("prefix: expected 1..64 characters of A-Z a-z 0-9 . _ : -")
    max_connections = options.get("max_connections", str(DEFAULT_MAX_CONNECTIONS))
    if _COUNT.fullmatch(max_connections) is None or not 1 <= int(max_connections) <= 10_000:
        raise ValueError("max_connections: expected an integer 1..10000")
    return RedisTarget(
        mode=mode,
        tls=tls,
        hosts=hosts,
        username=username,
        password=password,
        db=db,
        service=service,
        prefix=prefix,
        socket_timeout=_seconds("socket_timeout", options.get("socket_timeout", "2")),
        connect_timeout=_seconds("connect_timeout", options.get("connect_timeout", "2")),
        max_connections=int(max_connections),
        ssl_ca_certs=_optional_path(options, "ssl_ca_certs"),
        ssl_certfile=_optional_path(options, "ssl_certfile"),
        ssl_keyfile=_optional_path(options, "ssl_keyfile"),
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
    )


def _optional_path(options: dict[str, str], name: str) -> str | None:
    value = options.get(name)
    return None if value is None else _absolute(name, value)
