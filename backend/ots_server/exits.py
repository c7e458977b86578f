"""The exit statuses of ``ots-server``: one enum, the README's "Server exit codes" table.

Invariants: every status ``ots-server`` exits with is a member of :class:`ServerExit`, and the
typed errors are mapped to it in one place, :func:`ots_server.cli.main` (plus the missing-
dependency check of :mod:`ots_server.__main__`, which runs before anything else can be
imported); nowhere else in ``ots_server`` is an exit status a literal number. argparse exits
with ``USAGE`` by itself. These are not the CLI's codes (``ots_cli.errors.ExitCode``): the two
programs share no module. Standard library only, so ``__main__`` may import it first.
"""

from __future__ import annotations

from enum import IntEnum


class ServerExit(IntEnum):
    #: Done (``serve``: stopped normally).
    OK = 0
    #: ``accounts``: nothing done, refused by what the store holds (the account exists, no such
    #: account or token, the token name is taken) or declined at the prompt.
    REFUSED = 1
    #: Bad flags or arguments; ``accounts delete`` without ``--yes`` where nothing can be asked.
    USAGE = 2
    #: Configuration: a bad ``OTS_*`` setting, an unusable directory, a port in use, a store
    #: that cannot be opened or reached or is refused (a Redis that may evict), or the server's
    #: optional dependencies missing.
    CONFIG = 3
