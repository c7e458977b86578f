"""The SQLite store (the embedded default): :mod:`.store` is the store itself, the rest are its
parts: the schema and migrations (:mod:`.schema`), the writer lane and group commit
(:mod:`.lane`), the transactions (:mod:`.tx`), blob files (:mod:`.blobs`), the WAL checkpoint
(:mod:`.checkpoint`), and the account and request halves (:mod:`.accounts`, :mod:`.requests`).

Nothing outside :mod:`ots_server.store` imports these modules but through
:func:`ots_server.store.open_store`, except the app's streaming of large uploads
(:class:`.blobs.Staging`) and its quota (:meth:`.store.SQLiteStore.used_bytes`).
"""
