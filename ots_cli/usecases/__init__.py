"""What the commands do, without Typer: share, fetch, deliver, wait, request, answer.

Commands parse options and call these; several commands share one use case, so no command
module imports another (tests/test_layers.py).
"""
