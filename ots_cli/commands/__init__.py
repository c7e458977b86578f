"""Thin Typer commands: parse the options, call a use case (:mod:`ots_cli.usecases`), render.

Only :mod:`ots_cli.app` imports these modules (lazily, by name), and none imports another:
what several commands share is a use case or an option declaration (:mod:`ots_cli.cli.options`).
tests/test_layers.py enforces both.
"""
