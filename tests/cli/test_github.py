"""GitHub Actions: ``get --to-env/--to-output`` and ``--mask``, against a simulated runner.

The env and output files are parsed with the runner's own algorithm (:mod:`ghrunner`), mask
commands are unescaped as the runner does, and "the value never appears" means: not on stdout,
and on stderr only inside ``::add-mask::`` lines (which the runner consumes and never shows).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_cli.__main__ import main
from ots_cli.integrations import github

from . import schemas
from .ghrunner import Log, RunnerError, parse_file_commands, split_lines, unescape_data
from .support import Backend, Result, Runner, cli_env

MASK = "::add-mask::"


@pytest.fixture
def runner_env(tmp_path: Path) -> dict[str, str]:
    env_file, output_file = tmp_path / "set_env", tmp_path / "set_output"
    env_file.write_text("EARLIER=kept\n")  # another step's entry: appended to, never truncated
    output_file.touch()
    return cli_env(GITHUB_ACTIONS="true", GITHUB_ENV=str(env_file), GITHUB_OUTPUT=str(output_file))


def _file(env: dict[str, str], variable: str) -> list[tuple[str, str]]:
    return parse_file_commands(Path(env[variable]).read_bytes().decode("utf-8"))


def _outside_masks(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(MASK))


def _masks(text: str) -> list[str]:
    return [unescape_data(line[len(MASK) :]) for line in text.splitlines() if line.startswith(MASK)]


def _no_leak(result: Result, value: str) -> None:
    assert value.encode() not in result.out
    assert value not in _outside_masks(result.err)
    for line in value.splitlines():
        if len(line) >= github.MIN_MASK_LENGTH:
            assert line not in _outside_masks(result.err)


VALUES = [
    "s3cret-passw0rd",
    "line one\nline two\r\nline three\n",
    "100% %0A %25 %%",
    "-----BEGIN KEY-----\nAAAA\nBBBB\n-----END KEY-----\n",
    "EOF\nots_\nDELIM\nNAME<<EOF\nEVIL=1\n",
    "ünïcödé ✓ 🔑",
    "  spaced  ",
]


@pytest.mark.parametrize("value", VALUES)
def test_to_env_masks_first_and_the_env_file_parses_to_the_value(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str], value: str
) -> None:
    link = share(value.encode())
    result = ots("get", link, "--to-env", "DB_PASSWORD", env=runner_env)
    assert result.code == 0, result.err
    assert result.out == b""
    assert result.err.startswith(MASK)
    _no_leak(result, value)
    assert value in _masks(result.err)
    assert _file(runner_env, "GITHUB_ENV") == [("EARLIER", "kept"), ("DB_PASSWORD", value)]
    assert ots("get", link, env=runner_env).code == 6  # consumed: exactly once


def test_the_mask_is_the_first_thing_written_on_either_stream(
    backend: Backend, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    link = share(b"first of all")
    both = io.BytesIO()
    code = main(
        ["get", link, "--to-env", "PW"],
        stdin=io.BytesIO(),
        stdout=both,
        stderr=both,
        env=runner_env,
        http_client=backend.client,
    )
    assert code == 0
    assert both.getvalue().startswith(b"::add-mask::first of all\n")


def test_a_simulated_runner_log_never_shows_the_value(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    value = "multi\nline secret\n%0A%25"
    link = share(value.encode())
    result = ots("get", link, "--to-env", "KEY", env=runner_env)
    log = Log()
    for line in result.err.splitlines():
        log.process(line)
    # A later step prints the variable, line by line, as a careless script would.
    for line in dict(_file(runner_env, "GITHUB_ENV"))["KEY"].split("\n"):
        log.process(f"debug: {line}")
    assert "multi" not in log.text
    assert "line secret" not in log.text
    assert "%0A%25" not in log.text
    assert "debug: ***" in log.text


def test_to_output_and_both_at_once(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    link = share(b"tok\nen-value")
    result = ots("get", link, "--to-output", "api-token", "--to-env", "TOKEN", env=runner_env)
    assert result.code == 0, result.err
    assert _file(runner_env, "GITHUB_OUTPUT") == [("api-token", "tok\nen-value")]
    assert _file(runner_env, "GITHUB_ENV")[-1] == ("TOKEN", "tok\nen-value")
    assert "line of the value is shorter than 4" in result.err


def test_json_document_with_to_env(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    link = share(b"json-value")
    result = ots("--json", "get", link, "--to-env", "V", env=runner_env)
    assert result.code == 0, result.err
    document = result.json()
    assert schemas.check(document, "get-github") == []
    assert (document["to_env"], document["to_output"], document["size"]) == ("V", None, 10)
    assert b"json-value" not in result.out


def test_elsewhere_to_env_refuses_with_hints_and_consumes_nothing(
    ots: Runner, share: Callable[..., str], backend: Backend
) -> None:
    link = share(b"stays")
    result = ots("get", link, "--to-env", "PW")
    assert result.code == 2
    assert "GitHub Actions only" in result.err
    assert "ots run LINK --env NAME" in result.err
    assert "-o FILE" in result.err
    assert "stays" not in result.err
    assert result.out == b""
    assert not any(r.url.endswith("/reveal") for r in backend.recorder.requests)
    assert ots("get", link).out == b"stays"


@pytest.mark.parametrize(
    ("argv", "extra", "message"),
    [
        (["--to-env", "1X"], {}, "not a valid environment variable name"),
        (["--to-env", "A-B"], {}, "not a valid environment variable name"),
        (["--to-env", "GITHUB_TOKEN"], {}, "reserved"),
        (["--to-env", "node_options"], {}, "reserved"),
        (["--to-env", "RUNNER_TEMP"], {}, "reserved"),
        (["--to-env", "ACTIONS_RUNTIME_TOKEN"], {}, "reserved"),
        (["--to-output", "a.b"], {}, "not a valid step output name"),
        (["--to-env", "X", "--mask", "none"], {}, "always mask"),
        (["--to-env", "X", "-o", "f"], {}, "not both"),
        (["--to-env", "X", "--raw"], {}, "nothing is printed"),
        (["--to-env", "X"], {"GITHUB_ENV": ""}, "$GITHUB_ENV, which is not set"),
        (["--to-output", "x"], {"GITHUB_OUTPUT": ""}, "$GITHUB_OUTPUT, which is not set"),
    ],
)
def test_refusals_before_consuming(
    ots: Runner,
    share: Callable[..., str],
    runner_env: dict[str, str],
    argv: list[str],
    extra: dict[str, str],
    message: str,
) -> None:
    link = share(b"untouched")
    env = {**runner_env, **extra}
    result = ots("get", link, *argv, env=env)
    assert result.code == 2
    assert message in result.err
    assert ots("get", link, env=cli_env()).out == b"untouched"


def test_an_env_file_that_cannot_be_opened_is_refused_before_consuming(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str], tmp_path: Path
) -> None:
    link = share(b"untouched")
    env = {**runner_env, "GITHUB_ENV": str(tmp_path / "no" / "such" / "dir" / "file")}
    result = ots("get", link, "--to-env", "X", env=env)
    assert result.code == 2
    assert "cannot open $GITHUB_ENV" in result.err
    assert ots("get", link).out == b"untouched"


@pytest.mark.parametrize("body", [b"\xff\xfe binary", b"nul\x00byte"])
def test_a_value_that_cannot_be_a_variable_is_refused_and_says_it_was_consumed(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str], body: bytes
) -> None:
    link = share(body)
    result = ots("get", link, "--to-env", "X", env=runner_env)
    assert result.code == 2
    assert "used up a view" in result.err
    assert "-o FILE" in result.err
    assert _file(runner_env, "GITHUB_ENV") == [("EARLIER", "kept")]


def test_short_values_get_a_warning(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    result = ots("get", share(b"abc"), "--to-env", "PIN", env=runner_env)
    assert result.code == 0
    assert result.err.startswith("::add-mask::abc\n")
    assert "ots: warning: the value is shorter than 4 characters" in result.err


def test_printing_on_github_masks_on_stderr_and_keeps_stdout_exact(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    value = b"exact\nbytes %\n"
    result = ots("get", share(value), env=runner_env)
    assert (result.code, result.out) == (0, value)
    assert _masks(result.err) == ["exact\nbytes %\n", "exact", "bytes %"]
    none = ots("get", share(value), "--mask", "none", env=runner_env)
    assert (none.out, none.err) == (value, "")


def test_mask_github_works_anywhere_and_auto_only_on_github(
    ots: Runner, share: Callable[..., str], tmp_path: Path
) -> None:
    forced = ots("get", share(b"forced-mask"), "--mask", "github")
    assert forced.out == b"forced-mask"
    assert forced.err == "::add-mask::forced-mask\n"
    to_file = ots("get", share(b"file-mask"), "--mask", "github", "-o", str(tmp_path / "f"))
    assert to_file.err.startswith("::add-mask::file-mask\n")
    plain = ots("get", share(b"no-mask"))
    assert plain.err == ""
    assert ots("get", share(b"x"), "--mask", "sometimes").code == 2


def test_a_binary_value_printed_on_github_is_not_masked_but_says_so(
    ots: Runner, share: Callable[..., str], runner_env: dict[str, str]
) -> None:
    result = ots("get", share(b"\xff\xfe"), env=runner_env)
    assert result.out == b"\xff\xfe"
    assert "cannot be masked" in result.err


# -- the pieces, against the runner's algorithms ----------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


@settings(max_examples=300, deadline=None)
@given(value=_TEXT)
def test_every_value_round_trips_through_the_runner_parser(value: str) -> None:
    block = github.file_block("NAME", value).decode()
    assert parse_file_commands("A=1\n" + block + "B<<X\nb\nX\n") == [
        ("A", "1"),
        ("NAME", value),
        ("B", "b"),
    ]


@settings(max_examples=300, deadline=None)
@given(value=_TEXT)
def test_mask_commands_are_single_lines_that_unescape_to_the_targets(value: str) -> None:
    commands = github.mask_commands(value)
    targets = [unescape_data(c.removeprefix(MASK)) for c in commands]
    assert all(c.startswith(MASK) and "\n" not in c and "\r" not in c for c in commands)
    if value.strip():
        assert targets[0] == value
    else:
        assert targets == []
    log = Log()
    for command in commands:
        log.process(command)
    assert log.lines == []  # commands are consumed, never shown
    for line in split_lines(value):
        if len(line.strip()) >= github.MIN_MASK_LENGTH:
            assert line not in log.mask(f"> {line} <")


def test_a_would_be_delimiter_in_the_value_is_never_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hexes = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr("secrets.token_hex", lambda n: next(hexes))
    value = "x\nots_aaaa\nEVIL=1"
    block = github.file_block("NAME", value).decode()
    assert block.startswith("NAME<<ots_bbbb\n")
    assert parse_file_commands(block) == [("NAME", value)]
    # What the check prevents: with the colliding delimiter, the runner would set EVIL.
    forged = f"NAME<<ots_aaaa\n{value}\nots_aaaa\n"
    with pytest.raises(RunnerError):
        parse_file_commands(forged)


def test_the_parser_follows_the_runner_on_windows_line_endings() -> None:
    text = "A=1\r\nB<<EOF\r\nx\r\ny\r\nEOF\r\n"
    assert parse_file_commands(text, windows=True) == [("A", "1"), ("B", "x\r\ny")]
    # With Unix line endings CR stays part of every line: the delimiter read from "B<<EOF\r"
    # is "EOF\r" itself, so the block still ends at its line, but each value keeps its CR.
    assert parse_file_commands(text) == [("A", "1\r"), ("B", "x\r\ny\r")]


def test_json_error_when_refused(ots: Runner, share: Callable[..., str]) -> None:
    result = ots("--json", "get", share(b"x"), "--to-env", "PW")
    document = json.loads(result.out)
    assert document["error"]["code"] == "usage"
    assert document["error"]["exit_code"] == 2
