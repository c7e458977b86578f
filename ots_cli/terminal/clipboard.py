"""Put a link on the clipboard: a clipboard tool when one exists, else OSC 52 to the terminal.

Only links go through here, never a secret. Tools are looked up on the ``PATH`` of the
environment ots runs with and chosen by what the session offers (Wayland, X11, macOS,
Windows/WSL). OSC 52 asks the terminal itself to set the clipboard; many terminals honour it,
also over SSH, but some ignore it (or ask first) and none answers, so a caller can say only
that it was sent, never that the link is on the clipboard.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Mapping

from ots_cli.errors import UsageError

__all__ = ["copy", "osc52"]

_TIMEOUT = 5.0


def _candidates(env: Mapping[str, str]) -> list[list[str]]:
    tools: list[list[str]] = []
    if env.get("WAYLAND_DISPLAY"):
        tools.append(["wl-copy"])
    if env.get("DISPLAY"):
        tools += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    if sys.platform == "darwin":
        tools.append(["pbcopy"])
    tools.append(["clip.exe"])  # Windows, and WSL where clip.exe is on the PATH
    return tools


def copy(text: str, env: Mapping[str, str]) -> str | None:
    """Copy ``text`` with the first available tool; its name, or None when there is none."""
    path = env.get("PATH", "")
    for command in _candidates(env):
        executable = shutil.which(command[0], path=path)
        if executable is None:
            continue
        try:
            subprocess.run(
                [executable, *command[1:]],
                input=text.encode("utf-8"),
                env=dict(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=_TIMEOUT,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise UsageError(f"the clipboard tool {command[0]} failed") from exc
        return command[0]
    return None


def osc52(text: str) -> str:
    """The escape sequence that asks the terminal to put ``text`` on its clipboard."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\x07"
