"""This machine's state and files: config, tokens, keyring, receipts, request files,
private files, incoming downloads, the spool and the secret's input files.

Invariants: files ots creates are private (0600/0700) and replaced atomically
(:mod:`ots_cli.local.files`); nothing here prints or asks the server.
"""
