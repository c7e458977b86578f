"""The typed client of the ots HTTP API v1 and the records its answers become.

Invariants: never prints, never prompts, and imports no terminal, prompt, use-case or command
module (tests/test_layers.py); every failure is an :class:`~ots_cli.errors.OtsError`.
"""
