"""Helpers of the respond page's browser tests: driving the page as a responder does, and
opening an answer the way its requester would, to compare what the page sent with what it
must not have sent."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from ots_cli.core.request_crypto import open_answer, owner_proof
from ots_cli.core.request_links import parse_request_link
from ots_cli.local.request_files import RequestFiles

from .support import Cli

#: What the page shows once it has read the link and peeked: the form or an end state.
LOADED = "#respond-form:not([hidden]), #error:not([hidden])"


def open_respond(page: Page, link: str) -> None:
    """Open a request link as a responder would, and wait until the page has peeked."""
    page.goto(link)
    expect(page.locator(LOADED).first).to_be_visible(timeout=30_000)


def fill(
    page: Page, *, text: str | None = None, file: Path | None = None, password: bool = False
) -> None:
    if file is not None:
        page.get_by_label("A file").check()
        page.set_input_files("#file-input", str(file))
    elif password:
        page.get_by_label("A new random password").check()
    else:
        page.get_by_label("Secret", exact=True).fill(text or "")


def answer(
    page: Page,
    *,
    text: str | None = None,
    file: Path | None = None,
    password: bool = False,
    timeout: float = 60_000,
) -> None:
    """Fill the form (the page must show it), send, and wait for "Sent"."""
    fill(page, text=text, file=file, password=password)
    page.get_by_role("button", name="Send the secret").click()
    expect(page.locator("#result")).to_be_visible(timeout=timeout)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Answered:
    """A request's answer as its requester opens it: the secret's id and key, and its link."""

    secret_id: bytes
    secret_key: bytes
    public_key: bytes
    private_key: bytes

    def link(self, server: str) -> str:
        return f"{server}/s/{b64(self.secret_id)}#{b64(self.secret_key)}"


def private_key(cli: Cli, link: str) -> bytes:
    parsed = parse_request_link(link, allow_insecure_http=True)
    return RequestFiles(cli.home / "config" / "requests").find(parsed.id_text).private_key


def open_the_answer(cli: Cli, server: str, link: str) -> Answered:
    """Read the sealed answer with the owner proof (changes nothing) and open it."""
    parsed = parse_request_link(link, allow_insecure_http=True)
    key = private_key(cli, link)
    proof = b64(owner_proof(parsed.id, key))
    status = httpx.post(f"{server}/api/v1/requests/{parsed.id_text}/status", json={"proof": proof})
    status.raise_for_status()
    sealed = base64.urlsafe_b64decode(status.json()["sealed"] + "==")
    secret_id, secret_key = open_answer(sealed, key)
    return Answered(secret_id, secret_key, parsed.public_key, key)


def request_state(server: str, cli: Cli, link: str) -> str:
    """The request's state on the server, by its owner: open, answered, or the 410's state."""
    parsed = parse_request_link(link, allow_insecure_http=True)
    proof = b64(owner_proof(parsed.id, private_key(cli, link)))
    status = httpx.post(f"{server}/api/v1/requests/{parsed.id_text}/status", json={"proof": proof})
    if status.status_code == 410:
        return str(status.json()["state"])
    status.raise_for_status()
    return str(status.json()["state"])
