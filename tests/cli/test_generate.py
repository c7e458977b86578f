"""``ots generate``: strong values from the system CSPRNG, printed bare or shared directly."""

from __future__ import annotations

import string
from typing import Any

import pytest

from ots_cli.commands.generate import CHARSETS

from .support import Backend, Runner


def test_default_is_24_alphanumerics_without_a_newline_when_piped(ots: Runner) -> None:
    result = ots("generate")
    assert result.code == 0
    assert len(result.out) == 24
    assert set(result.text) <= set(string.ascii_letters + string.digits)


@pytest.mark.parametrize("charset", sorted(CHARSETS))
def test_each_charset_and_length(ots: Runner, charset: str) -> None:
    result = ots("--json", "generate", "--length", "64", "--charset", charset)
    document = result.json()
    assert len(document["secret"]) == 64
    assert set(document["secret"]) <= set(CHARSETS[charset])
    assert document["charset"] == charset
    assert document["bits"] > 0


def test_values_differ(ots: Runner) -> None:
    values = {ots("generate").out for _ in range(5)}
    assert len(values) == 5


def test_bad_charset_or_length_exits_2(ots: Runner) -> None:
    assert ots("generate", "--charset", "emoji").code == 2
    assert ots("generate", "--length", "0").code == 2
    assert ots("generate", "--length", "5000").code == 2


@pytest.mark.parametrize(
    "options", [["--ttl", "1h"], ["--wait"], ["--timeout", "1m"], ["--copy"], ["--qr"]]
)
def test_share_options_need_share(ots: Runner, backend: Backend, options: list[str]) -> None:
    result = ots("generate", *options)
    assert result.code == 2
    assert "share options need --share" in result.err
    assert backend.recorder.requests == []


def test_timeout_needs_wait_as_with_share(ots: Runner, backend: Backend) -> None:
    for command in (["share"], ["generate", "--share"]):
        result = ots(*command, "--timeout", "1m", stdin=b"x")
        assert result.code == 2
        assert "--timeout only applies with --wait" in result.err
    assert backend.recorder.requests == []


def _options(command: str) -> set[str]:
    from ots_cli.app import build_command

    tree: Any = build_command()
    params = tree.commands[command].params
    return {name for param in params if param.param_type_name == "option" for name in param.opts}


def test_generate_share_takes_every_share_option_that_applies() -> None:
    # Those of share that only make sense for a secret read from input: the prompt's
    # confirmation and an empty input, which a generated value never is.
    input_only = {"--confirm", "--allow-empty"}
    missing = _options("share") - input_only - _options("generate")
    assert missing == set()
    assert "--wait" in _options("generate")


def test_share_sends_only_ciphertext_and_prints_the_link(ots: Runner, backend: Backend) -> None:
    result = ots("generate", "--share", "--length", "40", "--ttl", "1h")
    assert result.code == 0, result.err
    link = result.text.strip()
    assert "/s/" in link
    value = ots("get", link).out
    assert len(value) == 40
    assert value not in backend.recorder.everything()
