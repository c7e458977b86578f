"""ots: one-time secrets, encrypted on your machine.

This package is the command-line client and the pure format core, by layer: ``core`` (pure),
``api`` (the HTTP client), ``local``, ``terminal``, ``integrations``, ``usecases``, ``cli`` and
``commands``, wired by :mod:`ots_cli.runtime` and :mod:`ots_cli.app` (tests/test_layers.py
says who may import whom). Importing it must stay cheap: no heavy imports at package level
(start-up time is measured, see bench/README.md).
"""

__version__ = "0.1.0"
