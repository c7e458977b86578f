"""The terminal: stdout/stderr output, prompts, progress bars, the clipboard.

Only these modules talk to the person at the terminal; commands and use cases go through them
(reached from :class:`~ots_cli.runtime.Runtime`).
"""
