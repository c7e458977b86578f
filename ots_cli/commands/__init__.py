"""Thin Typer command modules: parse, call the core and the client, render."""
