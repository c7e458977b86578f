"""The ``ots-server`` console script, also ``python -m ots_server``.

Invariant: this module imports only the standard library and :mod:`ots_server.exits` until it
has checked that the server's optional dependencies (``pip install 'ots-cli[server]'``) can be
found. ``pip install .`` installs the ``ots-server`` script without them; such an install gets
one line naming what is missing and what to install, and exit status 3
(``ServerExit.CONFIG``), never a traceback.
"""

from __future__ import annotations

import importlib.util
import sys

from ots_server.exits import ServerExit

#: The modules of the ``server`` extra that ``ots-server`` imports on every command (httptools
#: and uvloop are optional: uvicorn uses them when present).
SERVER_MODULES = ("starlette", "uvicorn", "redis")
INSTALL_HINT = "install them with: pip install 'ots-cli[server]'"


def missing_modules() -> list[str]:
    """The server modules that cannot be imported; found without importing any of them."""
    missing = []
    for name in SERVER_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken install: a parent without a spec
            found = False
        if not found:
            missing.append(name)
    return missing


def _refuse(missing: list[str]) -> int:
    print(
        f"ots-server: error: the server needs the optional dependencies of ots-cli[server] "
        f"(missing: {', '.join(missing)}); {INSTALL_HINT}",
        file=sys.stderr,
    )
    return ServerExit.CONFIG


def main() -> int:
    missing = missing_modules()
    if missing:
        return _refuse(missing)
    try:
        from ots_server import cli
    except ModuleNotFoundError as exc:  # found above, but it (or what it needs) will not load
        root = (exc.name or "").partition(".")[0]
        if root not in SERVER_MODULES:
            raise
        return _refuse([root])
    return cli.main()


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
