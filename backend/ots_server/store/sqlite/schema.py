"""The SQLite schema, the settings every connection runs with, and the migrations.

Two tables for secrets. ``records`` holds what outlives a secret (tombstone and receipt): id,
SHA-256 of the link proof and of the receipt token, times, views, state, and the account it is
linked to (if any). ``secrets`` holds the live body: the blob, its header length, SHA-256 of
the passphrase proof, attempts left. A ``secrets`` row exists exactly while its record is
``pending``; ids and verifiers are BLOBs. Blobs larger than 64 KiB live in files (migration
3: ``secrets.size`` and ``secrets.file``; see :mod:`ots_server.store.sqlite.blobs`).

One table for requests (migration 4). ``requests``: the id, SHA-256 of the answer proof and
of the owner proof, times, the state (``open``, ``answered``, ``expired``, ``closed``), when
it was answered or ended (``state_at``, null exactly while open) and the sealed answer (96
bytes, present exactly while answered). An ended request keeps only its verifiers, times and
state, until ``keep_until``. The table is ``WITHOUT ROWID``: its rows are small and found by
id, so the id's b-tree is the table (no second copy of every id in an index, one page fewer).

Two tables for accounts (migration 2). ``accounts``: a random id, the email, its
case-folded key (unique) and the created time. ``tokens``: SHA-256 of each token (the primary
key: authentication is one index lookup), its account, a name unique within the account, the
created time and the last-used Unix day. Deleting an account deletes its tokens
(``ON DELETE CASCADE``) and unlinks its secrets (``records.account_id``, ``ON DELETE SET
NULL``) in the same statement; ``secure_delete`` zeroes what was freed.

Page size: a new database gets :data:`PAGE_SIZE` (16 KiB) pages, set before WAL mode and the
first table (after either SQLite keeps the size it has). A live secret of the default padded
size is a ``secrets`` row of about 1.7 KB: a 4 KiB page holds two of them and leaves about
340 bytes per secret unused, a 16 KiB page holds nine and leaves about 100. An existing
database keeps its page size (changing it would take a ``VACUUM``, which ots never runs).

Migrations are an ordered list; ``PRAGMA user_version`` counts those applied. They run under
the write lock (``BEGIN IMMEDIATE``), so several worker processes starting together apply each
one exactly once. A database with a higher version than this code knows is refused rather
than guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ots_server.store.outcomes import StoreError

MIN_SQLITE = (3, 35, 0)  # DELETE … RETURNING
#: Page size of databases this code creates (see the module docstring).
PAGE_SIZE = 16384

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE records (
            id            BLOB PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
            receipt_hash  BLOB NOT NULL UNIQUE CHECK (length(receipt_hash) = 32),
            link_verifier BLOB NOT NULL CHECK (length(link_verifier) = 32),
            created_at    INTEGER NOT NULL,
            expires_at    INTEGER NOT NULL,
            keep_until    INTEGER NOT NULL,
            views         INTEGER NOT NULL CHECK (views >= 1),
            views_left    INTEGER NOT NULL CHECK (views_left BETWEEN 0 AND views),
            state         TEXT NOT NULL
                          CHECK (state IN ('pending', 'consumed', 'burned', 'expired')),
            state_at      INTEGER,
            read_at       INTEGER
        )""",
        """CREATE TABLE secrets (
            id                  BLOB PRIMARY KEY REFERENCES records (id) ON DELETE CASCADE,
            header_length       INTEGER NOT NULL CHECK (header_length >= 1),
            passphrase_verifier BLOB CHECK (passphrase_verifier IS NULL
                                            OR length(passphrase_verifier) = 32),
            attempts_left       INTEGER CHECK (attempts_left IS NULL OR attempts_left >= 1),
            blob                BLOB NOT NULL CHECK (length(blob) >= header_length)
        )""",
        "CREATE INDEX records_keep_until ON records (keep_until)",
        "CREATE INDEX records_pending_expiry ON records (expires_at) WHERE state = 'pending'",
    ),
    (
        """CREATE TABLE accounts (
            id         BLOB PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
            email      TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
            email_key  TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE tokens (
            hash          BLOB PRIMARY KEY CHECK (typeof(hash) = 'blob' AND length(hash) = 32),
            account_id    BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
            created_at    INTEGER NOT NULL,
            last_used_day INTEGER,
            UNIQUE (account_id, name)
        )""",
        "ALTER TABLE records ADD COLUMN account_id BLOB"
        " REFERENCES accounts (id) ON DELETE SET NULL",
        "CREATE INDEX records_account ON records (account_id, created_at)"
        " WHERE account_id IS NOT NULL",
    ),
    (
        # A file-backed body keeps its header inline in ``blob``; ``size`` is the whole
        # blob's and ``file`` the name of its file (see ots_server.store.sqlite.blobs).
        "ALTER TABLE secrets ADD COLUMN size INTEGER",
        "ALTER TABLE secrets ADD COLUMN file TEXT",
        "CREATE UNIQUE INDEX secrets_file ON secrets (file) WHERE file IS NOT NULL",
    ),
    (
        # Requests (migration 4; see ots_server.store.sqlite.requests).
        """CREATE TABLE requests (
            id              BLOB PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
            answer_verifier BLOB NOT NULL CHECK (length(answer_verifier) = 32),
            owner_verifier  BLOB NOT NULL CHECK (length(owner_verifier) = 32),
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            keep_until      INTEGER NOT NULL,
            state           TEXT NOT NULL
                            CHECK (state IN ('open', 'answered', 'expired', 'closed')),
            state_at        INTEGER CHECK ((state = 'open') = (state_at IS NULL)),
            sealed          BLOB CHECK ((state = 'answered') = (sealed IS NOT NULL)
                                        AND (sealed IS NULL OR length(sealed) = 96))
        ) WITHOUT ROWID""",
        "CREATE INDEX requests_keep_until ON requests (keep_until)",
        "CREATE INDEX requests_live_expiry ON requests (expires_at)"
        " WHERE state IN ('open', 'answered')",
    ),
    (
        # The CI identity a secret is bound to (migration 5; docs/FORMAT.md "Binding"): public
        # policy, kept with the body and deleted with it.
        "ALTER TABLE secrets ADD COLUMN binding TEXT"
        " CHECK (binding IS NULL OR length(binding) BETWEEN 1 AND 255)",
    ),
)


def connect(
    path: Path,
    busy_ms: int,
    *,
    autocheckpoint: int = 0,
    factory: type[sqlite3.Connection] = sqlite3.Connection,
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the store's settings.

    ``autocheckpoint``: SQLite's ``wal_autocheckpoint`` in pages, 0 (off) but for the writer's
    connection (see :mod:`ots_server.store.sqlite.checkpoint`). ``factory`` is for tests that
    need a connection failing on cue (a subclass)."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StoreError(f"SQLite {sqlite3.sqlite_version} is too old; 3.35 or newer needed")
    conn = sqlite3.connect(
        path,
        timeout=busy_ms / 1000,
        isolation_level=None,
        check_same_thread=False,
        factory=factory,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        # Only takes effect on a database with no page yet; must precede WAL mode.
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError("SQLite refused WAL mode on this file system")
        # FULL: with NORMAL a power cut can roll back a committed consume (a second read).
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
        # Only the writer's commits checkpoint, in small steps; the rest on the checkpoint lane
        # (see ots_server.store.sqlite.checkpoint).
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA trusted_schema = OFF")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this database has not seen, atomically."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError("the database was written by a newer ots-server")
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
