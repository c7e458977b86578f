"""The operator command ``ots-server``: ``serve`` runs the app under uvicorn, ``purge`` sweeps once,
``accounts …`` manages accounts and their tokens (:mod:`ots_server.admin`).

Settings come only from ``OTS_*`` variables (listed with their defaults by ``--help``); they are
parsed, the SQLite directory checked (:mod:`ots_server.startup`: only ``OTS_DATA_DIR`` is ever
created), the port bound and the store opened (and migrated) before uvicorn starts, so a bad
setting, a bad directory or a port in use fails at once with exit status 3
(``ServerExit.CONFIG``) and one line naming the variable or flag, instead of in every worker.
The first log line of ``serve`` names the store and the data directory (never a credential);
unknown ``OTS_*`` variables are warned about next. A Redis store must answer then, and its
configuration is checked (:mod:`ots_server.store.redis.preflight`): a Redis that may evict
unread secrets is refused (exit status 3), one that persists less than it could is logged as a
warning.

Uvicorn runs with its access log off (it would log paths, which hold ids), without
its own proxy-header handling (``OTS_TRUSTED_PROXIES`` decides whom to believe) and with the
app built by a factory in each worker. Its HTTP protocol is uvicorn's httptools one with the
limits on request heads and open connections of :mod:`ots_server.protocol`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence

from ots_server import admin
from ots_server.exits import ServerExit
from ots_server.logs import FIELDS, configure_logging
from ots_server.settings import Settings, SettingsError
from ots_server.startup import StartupError, bind, prepare_directories, store_description
from ots_server.store import StoreError, open_store
from ots_server.store.redis.preflight import RedisRefused
from ots_server.variables import describe_variables, unknown_variables

logger = logging.getLogger("ots_server.store")


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
    purge = commands.add_parser(
        "purge",
        help="delete expired secrets and old receipts once, then exit",
        epilog=epilog,
        formatter_class=_Formatter,
    )
    for command in (serve, purge):
        command.set_defaults(usage_parser=command)
    admin.add_parser(commands, _Formatter)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown argument is reported with the usage of the (sub)command it
    was given to (argparse alone would show the top-level usage)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command: argparse.ArgumentParser = getattr(args, "usage_parser", parser)
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _fail(message: str, status: ServerExit) -> ServerExit:
    print(f"ots-server: error: {message}", file=sys.stderr)
    return status


async def _check_store(settings: Settings) -> None:
    """Open (create, migrate) and close the store once, so problems surface before serving;
    check a Redis store's configuration and log what it costs."""
    from ots_server.store.redis.store import RedisStore

    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    try:
        if isinstance(store, RedisStore):
            allow = settings.redis_allow_eviction
            for warning in await store.startup_check(allow_eviction=allow):
                logger.warning(warning)
    finally:
        await store.close()


def _start(settings: Settings, host: str, port: int, workers: int) -> int:
    """Bind, say what is in use, check the store, then serve until stopped."""
    sock = bind(host, port)
    try:
        configure_logging(settings.log_level)
        message, fields = store_description(settings)
        logging.getLogger("ots_server.startup").info(message, extra={FIELDS: fields})
        for warning in unknown_variables(os.environ):
            logging.getLogger("ots_server.settings").warning(warning)
        asyncio.run(_check_store(settings))
        bound = sock.getsockname()[1]
        plural = "" if workers == 1 else "s"
        logging.getLogger("ots_server.startup").info(
            f"listening on http://{_netloc(host, bound)} with {workers} worker{plural}"
        )
        return _serve(settings, sock, workers)
    finally:
        sock.close()


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve(settings: Settings, sock: socket.socket, workers: int) -> int:
    """uvicorn on ``sock`` (bound by :func:`ots_server.startup.bind`), in this process or in
    ``workers`` processes that share it."""
    import uvicorn

    host, port = sock.getsockname()[:2]
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
        uvicorn.Server(config).run(sockets=[sock])
        return ServerExit.OK
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[sock]).run()
    return ServerExit.OK


async def _purge(settings: Settings) -> dict[str, int]:
    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    try:
        result = await store.purge_expired(int(time.time()))
        # Best effort: if a server holds the WAL busy, its own maintenance truncates it later.
        await store.maintenance()
    finally:
        await store.close()
    return dataclasses.asdict(result)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the one place that maps typed errors to exit statuses (argparse exits
    with ``ServerExit.USAGE`` by itself; README "Server exit codes")."""
    parser = _parser()
    args = _parse(parser, argv)
    try:
        if args.command == "serve":
            if not 1 <= args.workers <= 64:
                args.usage_parser.error("--workers must be between 1 and 64")
            if not 0 <= args.port <= 65535:
                args.usage_parser.error("--port must be between 0 and 65535")
        settings = Settings.from_env(os.environ)
        prepare_directories(settings)
        if args.command == "serve":
            return _start(settings, args.host, args.port, args.workers)
        for warning in unknown_variables(os.environ):
            print(f"ots-server: warning: {warning}", file=sys.stderr)
        if args.command == "accounts":
            asyncio.run(admin.run(settings, args))
            return ServerExit.OK
        print(json.dumps(asyncio.run(_purge(settings))))
        return ServerExit.OK
    except admin.NeedsConfirmation as exc:
        return _fail(str(exc), ServerExit.USAGE)
    except admin.Declined as exc:
        admin.note(str(exc))
        return ServerExit.REFUSED
    except admin.Refused as exc:
        return _fail(str(exc), ServerExit.REFUSED)
    except (SettingsError, RedisRefused, StartupError) as exc:
        return _fail(str(exc), ServerExit.CONFIG)
    except (StoreError, OSError) as exc:
        return _fail(f"cannot open the store: {exc}", ServerExit.CONFIG)


def entry() -> None:
    sys.exit(main())
