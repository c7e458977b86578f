"""The pure core: the v1 byte format, its cryptography, links, and text helpers.

Invariants: no I/O (no files, network, clock reads that matter, environment or terminal);
imports nothing but the standard library, PyNaCl and :mod:`ots_cli.errors` (and each other).
tests/test_layers.py enforces the imports. Empty on purpose: importing the package is free.
"""
