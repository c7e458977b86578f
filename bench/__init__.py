"""ots's benchmarks, a package so that tests import them like any other code.

Run each from the repository root as a module (``python -m bench.compare``, ``python -m
bench.startup``, ...; bench/README.md lists them). Modules import each other absolutely
(``from bench.load import Run``); nothing here touches ``sys.path``. Importing the package runs
nothing: each benchmark starts only from its ``__main__`` block.
"""
