"""Typer plumbing shared by the commands: option declarations, help names, the man page and
completion generators, and the one seam to Typer's private modules
(:mod:`ots_cli.cli.typer_compat`).
"""
