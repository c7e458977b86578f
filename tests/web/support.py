"""Helpers of the browser suite: the real ``ots`` CLI in a subprocess against a real server,
and the reveal page driven the way a person drives it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

#: Removes the File System Access API so downloads take the Service Worker path, which
#: Playwright can capture (it cannot answer a native save dialog).
NO_SAVE_PICKER = "delete window.showSaveFilePicker;"


@dataclass
class Cli:
    """The real ``ots`` CLI, as a separate process, talking to ``server``."""

    server: str
    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        env.update(
            OTS_SERVER=self.server,
            OTS_CONFIG_DIR=str(self.home / "config"),
            OTS_DATA_DIR=str(self.home / "data"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            NO_COLOR="1",
        )
        return env

    def run(
        self, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "ots_cli", *args],
            input=stdin,
            capture_output=True,
            env=self.env() | (env or {}),
            timeout=300,
            check=False,
        )

    def share(self, data: bytes, *args: str) -> str:
        done = self.run("share", *args, stdin=data)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()

    def share_file(self, path: Path, *args: str) -> str:
        done = self.run("share", str(path), *args)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()

    def request(self, *args: str) -> str:
        """``ots request``: the request link (its private key stays in this CLI's home)."""
        done = self.run("request", *args)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()


def open_link(page: Page, link: str) -> None:
    """Open a link as a recipient would, and wait until the page has peeked."""
    page.goto(link)
    expect(page.locator("#reveal-form:not([hidden]), #error:not([hidden])").first).to_be_visible()


def reveal(page: Page, passphrase: str | None = None) -> None:
    if passphrase is not None:
        page.get_by_label("Passphrase", exact=True).fill(passphrase)
    page.get_by_role("button", name="Reveal the secret").click()


def error_reason(page: Page) -> str:
    expect(page.locator("#error")).to_be_visible()
    reason = page.locator("#error").get_attribute("data-reason")
    assert reason is not None
    return reason
