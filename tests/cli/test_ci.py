"""CI rules: a second fetch is an alarm, and nothing ever prompts without a person to answer.

The prompt audit runs real ``python -m ots_cli`` processes on a pseudo-terminal (so a prompt
*could* be shown) and checks that ``CI`` and ``--no-input`` still prevent every one of them,
with exit 2 and a hint naming the flag to use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from processes import ServerProcess

from .support import Runner, Terminal, cli_env, run_cli


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_a_second_fetch_in_ci_says_the_credential_may_be_compromised(
    ots: Runner, share: Callable[..., str], ci: str
) -> None:
    link = share(b"deploy key")
    env = cli_env(CI=ci)
    assert ots("get", link, env=env).out == b"deploy key"
    again = ots("--json", "get", link, env=env)
    assert again.code == 6
    assert again.err.startswith(
        "ots: error: the secret was already read by someone else: treat the credential as "
        "compromised\n"
    )
    assert "rotate it now" in again.err
    error = json.loads(again.out)["error"]
    assert (error["code"], error["state"], error["exit_code"]) == ("gone", "consumed", 6)


def test_outside_ci_a_second_fetch_keeps_the_personal_message(
    ots: Runner, share: Callable[..., str]
) -> None:
    link = share(b"x")
    ots("get", link)
    again = ots("get", link, env=cli_env(CI="false"))
    assert again.code == 6
    assert "compromised" not in again.err


def test_a_burned_secret_in_ci_is_not_called_compromised(
    ots: Runner, share: Callable[..., str]
) -> None:
    link = share(b"x")
    assert ots("burn", link).code == 0
    burned = ots("get", link, env=cli_env(CI="true"))
    assert burned.code == 6
    assert "burned" in burned.err
    assert "compromised" not in burned.err


@pytest.mark.parametrize(
    ("env", "argv", "reason"),
    [
        ({"CI": "true"}, [], "CI is set"),
        ({}, ["--no-input"], "--no-input was given"),
        ({}, [], "stderr is not a terminal"),
    ],
)
def test_a_missing_passphrase_names_the_flag_and_why_nothing_was_asked(
    ots: Runner,
    share: Callable[..., str],
    tmp_path: Path,
    env: dict[str, str],
    argv: list[str],
    reason: str,
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("p")
    link = share(b"guarded", "--passphrase-file", str(phrase))
    result = ots(*argv, "get", link, env=cli_env(**env))
    assert result.code == 2
    assert f"ots: hint: pass --passphrase-file PATH ({reason})" in result.err
    assert ots("get", link, "--passphrase-file", str(phrase)).out == b"guarded"


# -- on a real terminal --------------------------------------------------------------------------


@pytest.fixture
def env(server: ServerProcess) -> dict[str, str]:
    return cli_env(OTS_SERVER=server.base_url, TERM="xterm")


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def spawn(env: dict[str, str], *argv: str) -> Terminal:
        started.append(Terminal(list(argv), env))
        return started[-1]

    yield spawn
    for one in started:
        one.close()


def _share(env: dict[str, str], secret: bytes, *argv: str) -> str:
    result = run_cli(["share", *argv], stdin=secret, env=env)
    assert result.code == 0, result.err
    return result.text.strip()


def test_ci_at_a_terminal_never_asks_for_a_passphrase(
    env: dict[str, str], terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("p")
    link = _share(env, b"guarded", "--passphrase-file", str(phrase))
    for extra, argv in (({"CI": "true"}, ["get", link]), ({}, ["--no-input", "get", link])):
        shown = terminal({**env, **extra}, *argv)
        assert shown.finish() == 2
        assert b"Passphrase" not in shown.screen
        assert b"Reveal it now?" not in shown.screen
        assert b"--passphrase-file PATH" in shown.screen
    assert run_cli(["get", link, "--passphrase-file", str(phrase)], env=env).out == b"guarded"


def test_no_input_at_a_terminal_never_asks_to_share_with_a_passphrase(
    env: dict[str, str], terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s")
    shown = terminal(env, "--no-input", "share", "--passphrase", str(secret))
    assert shown.finish() == 2
    assert b"Passphrase" not in shown.screen
    assert b"use --passphrase-file PATH (--no-input was given)" in shown.screen


def test_run_asks_at_a_terminal_but_never_in_ci(
    env: dict[str, str], terminal: Callable[..., Terminal]
) -> None:
    link = _share(env, b"for the command")
    asked = terminal(env, "run", link, "--env", "A", "--", "true")
    asked.expect(b"Reveal and run the command? [y/N] ")
    asked.type(b"n\n")
    assert asked.finish() == 13
    assert b"ots: note: nothing was revealed and the command did not run" in asked.screen
    in_ci = terminal({**env, "CI": "true"}, "run", link, "--env", "A", "--", "sh", "-c",
                     'test "$A" = "for the command"')  # fmt: skip
    assert in_ci.finish() == 0
    assert b"Reveal" not in in_ci.screen
