"""The operator command ``ots-server``: ``serve`` runs the app under uvicorn, ``purge`` sweeps once,
``accounts …`` manages accounts and their tokens (:mod:`ots_server.admin`).

Settings come only from ``OTS_*`` variables (listed with their defaults by ``--help``); they
are parsed and the store is opened (and migrated) before uvicorn starts, so a bad setting
fails at once with exit status 3 and a message naming the variable, instead of in every
worker. A Redis store must answer then, and its configuration is checked
(:mod:`ots_server.store.redis_preflight`): a Redis that may evict unread secrets is refused
(exit status 3), one that persists less than it could is logged as a warning.

Uvicorn runs with its access log off (it would log paths, which hold ids), without
its own proxy-header handling (``OTS_TRUSTED_PROXIES`` decides whom to believe) and with the
app built by a factory in each worker. Its HTTP protocol is uvicorn's httptools one with the
limits on request heads and open connections of :mod:`ots_server.protocol`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence

from ots_server import admin
from ots_server.logs import configure_logging
from ots_server.settings import Settings, SettingsError, describe_variables
from ots_server.store import open_store
from ots_server.store.base import StoreError
from ots_server.store.redis_preflight import RedisRefused

logger = logging.getLogger("ots_server.store")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIG = 3


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _parser() -> argparse.ArgumentParser:
    epilog = describe_variables()
    parser = argparse.ArgumentParser(
        prog="ots-server",
        description="The self-hostable backend of ots: stores ciphertext it cannot read.",
        epilog=epilog,
        formatter_class=_Formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="run the HTTP server", epilog=epilog, formatter_class=_Formatter
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind [127.0.0.1]")
    serve.add_argument("--port", type=int, default=8000, help="port to bind [8000]")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes, each with its own store [1]"
    )
    commands.add_parser(
        "purge",
        help="delete expired secrets and old receipts once, then exit",
        epilog=epilog,
        formatter_class=_Formatter,
    )
    admin.add_parser(commands, _Formatter)
    return parser


def _fail(message: str) -> int:
    print(f"ots-server: error: {message}", file=sys.stderr)
    return EXIT_CONFIG


async def _check_store(settings: Settings) -> None:
    """Open (create, migrate) and close the store once, so problems surface before serving;
    check a Redis store's configuration and log what it costs."""
    from ots_server.store.redis_store import RedisStore

    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    try:
        if isinstance(store, RedisStore):
            allow = settings.redis_allow_eviction
            for warning in await store.startup_check(allow_eviction=allow):
                logger.warning(warning)
    finally:
        await store.close()


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    from ots_server.protocol import Edge, EdgeConfig, connection_budget

    edge = Edge.from_settings(settings, max_connections=connection_budget(settings.max_connections))
    config = EdgeConfig(
        "ots_server.asgi:app_from_env",
        edge=edge,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return EXIT_OK
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[_tcp_socket(config.bind_socket())]).run()
    return EXIT_OK


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """``sock`` re-made with ``IPPROTO_TCP`` as its protocol.

    uvicorn binds the shared socket of several workers with protocol 0; asyncio then does not
    set ``TCP_NODELAY`` on the connections it accepts, and every response waits ~40 ms for the
    client's delayed ACK (uvicorn issue 3149). The same file descriptor, described as TCP, gets
    ``TCP_NODELAY`` like a single worker's socket does.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    tcp = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


async def _purge(settings: Settings) -> dict[str, int]:
    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    try:
        result = await store.purge_expired(int(time.time()))
        # Best effort: if a server holds the WAL busy, its own maintenance truncates it later.
        await store.maintenance()
    finally:
        await store.close()
    return {"expired": result.expired, "purged": result.purged}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        if args.command == "serve":
            if not 1 <= args.workers <= 64:
                parser.error("--workers must be between 1 and 64")
            if not 0 <= args.port <= 65535:
                parser.error("--port must be between 0 and 65535")
            configure_logging(settings.log_level)
            asyncio.run(_check_store(settings))
            return _serve(settings, args.host, args.port, args.workers)
        if args.command == "accounts":
            return asyncio.run(admin.run(settings, args))
        print(json.dumps(asyncio.run(_purge(settings))))
        return EXIT_OK
    except (SettingsError, RedisRefused) as exc:
        return _fail(str(exc))
    except (StoreError, OSError) as exc:
        return _fail(f"cannot open the store: {exc}")


def entry() -> None:
    sys.exit(main())
