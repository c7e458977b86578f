"""ots: one-time secrets, encrypted on your machine.

This package is the command-line client and the pure format core. Importing it must stay
cheap: no heavy imports at package level (start-up time is measured, see bench/README.md).
"""

__version__ = "0.1.0"
