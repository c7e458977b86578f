"""``ots run``: secrets reach one child process only, files are private and always removed.

The child is a small Python script that writes what it sees (its environment, its argv, the
secret file's modes) to a report file, so nothing it sees passes through the output checked
for leaks. Signals are tested on a real ``python -m ots_cli`` process against a real server.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from processes import ServerProcess

from ots_cli.integrations.child import Signals

from .support import Runner, cli_env, run_cli

CHILD = r"""
import json, os, stat, sys
report = {"argv": sys.argv, "env": {}, "files": {}}
for name in sys.argv[2:]:
    value = os.environ.get(name)
    report["env"][name] = value
    if value and os.path.isfile(value):
        report["files"][name] = {
            "content": open(value, "rb").read().decode("latin-1"),
            "mode": stat.S_IMODE(os.stat(value).st_mode),
            "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(value)).st_mode),
        }
with open(sys.argv[1], "w") as out:
    json.dump(report, out)
sys.exit(int(os.environ.get("CHILD_EXIT", "0")))
"""


@pytest.fixture
def child(tmp_path: Path) -> tuple[list[str], Path]:
    """(the command, its report file): ``CMD NAME…`` reports what it sees of each NAME."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    report = tmp_path / "report.json"
    return [sys.executable, str(script), str(report)], report


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_child_sees_the_variable_and_nothing_else_does(
    ots: Runner, share: Callable[..., str], child: tuple[list[str], Path]
) -> None:
    command, report = child
    value = "run-secret-7f3a"
    link = share(value.encode())
    result = ots("run", link, "--env", "DB_PASSWORD", "--", *command, "DB_PASSWORD")
    assert result.code == 0, result.err
    seen = _report(report)
    assert seen["env"]["DB_PASSWORD"] == value
    assert not any(value in arg for arg in seen["argv"])
    assert value.encode() not in result.out
    assert value not in result.err
    assert value not in json.dumps(dict(os.environ))
    assert value.encode() not in Path("/proc/self/environ").read_bytes()
    assert ots("get", link).code == 6  # fetched exactly once


def test_a_file_is_private_and_removed_after_success_and_failure(
    ots: Runner, share: Callable[..., str], child: tuple[list[str], Path]
) -> None:
    command, report = child
    for exit_code in (0, 3):
        link = share(b"key\x00material\xff")
        env = cli_env(CHILD_EXIT=str(exit_code))
        result = ots("run", link, "--file-env", "KEY_FILE", "--", *command, "KEY_FILE", env=env)
        assert result.code == exit_code, result.err
        seen = _report(report)
        path = str(seen["env"]["KEY_FILE"])
        files = seen["files"]
        assert isinstance(files, dict)
        assert files["KEY_FILE"] == {
            "content": "key\x00material\xff",
            "mode": 0o600,
            "dir_mode": 0o700,
        }
        assert not os.path.exists(path)
        assert not os.path.exists(os.path.dirname(path))


def test_several_secrets_in_one_run(
    ots: Runner, share: Callable[..., str], child: tuple[list[str], Path]
) -> None:
    command, report = child
    one, two, three = share(b"first"), share(b"second"), share(b"third")
    result = ots(
        "run", one, "--env", "A", "--file-env", "A_FILE",
        "--secret", f"{two}=B", "--secret-file", f"{three}=C_FILE",
        "--", *command, "A", "A_FILE", "B", "C_FILE",
    )  # fmt: skip
    assert result.code == 0, result.err
    seen = _report(report)
    assert seen["env"]["A"] == "first"
    assert seen["env"]["B"] == "second"
    files = seen["files"]
    assert isinstance(files, dict)
    assert files["A_FILE"]["content"] == "first"
    assert files["C_FILE"]["content"] == "third"
    assert all(ots("get", link).code == 6 for link in (one, two, three))


def test_a_failed_fetch_runs_nothing_and_names_what_was_consumed(
    ots: Runner, share: Callable[..., str], child: tuple[list[str], Path], tmp_path: Path
) -> None:
    command, report = child
    phrase, wrong = tmp_path / "phrase", tmp_path / "wrong"
    phrase.write_text("right")
    wrong.write_text("wrong")
    plain = share(b"plain")
    guarded = share(b"guarded", "--passphrase-file", str(phrase))
    result = ots(
        "run", "--secret", f"{plain}=PLAIN", "--secret", f"{guarded}=GUARDED",
        "--passphrase-file", str(wrong), "--", *command, "PLAIN",
    )  # fmt: skip
    assert result.code == 11
    assert not report.exists()
    assert "this run already consumed the secrets for PLAIN" in result.err
    assert ots("get", plain).code == 6
    assert ots("get", guarded, "--passphrase-file", str(phrase)).out == b"guarded"


def test_a_secret_already_gone_stops_everything_before_consuming(
    ots: Runner, share: Callable[..., str], child: tuple[list[str], Path]
) -> None:
    command, report = child
    fresh, used = share(b"fresh"), share(b"used")
    assert ots("get", used).code == 0
    ci = cli_env(CI="true")
    result = ots("run", "--secret", f"{fresh}=A", "--secret", f"{used}=B", "--", *command, env=ci)
    assert result.code == 6
    assert "treat the credential as compromised" in result.err
    assert not report.exists()
    assert ots("get", fresh).out == b"fresh"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["LINK", "--env", "A", "true"], "put the command after '--'"),
        (["LINK", "--env", "A", "--"], "no command after '--'"),
        (["LINK", "--", "true"], "--env NAME or --file-env NAME"),
        (["--env", "A", "--", "true"], "need a LINK before '--'"),
        (["LINK", "LINK", "--env", "A", "--", "true"], "more than one LINK"),
        (["--", "true"], "no secret to fetch"),
        (["--secret", "no-equals-sign", "--", "true"], "--secret takes LINK=NAME"),
        (["LINK", "--env", "1A", "--", "true"], "not a valid environment variable name"),
        (["LINK", "--env", "A", "--secret", "LINK=A", "--", "true"], "given twice"),
        (["LINK", "--env", "A", "--", "no-such-command-here"], "command not found"),
        (["--json", "LINK", "--env", "A", "--", "true"], "--json does not apply"),
    ],
)
def test_usage_errors_consume_nothing(
    ots: Runner, share: Callable[..., str], argv: list[str], message: str
) -> None:
    link = share(b"kept")
    result = ots("run", *[link if word == "LINK" else word for word in argv])
    assert result.code == 2
    assert message in result.err
    assert link.split("#")[1] not in result.err
    assert ots("get", link).out == b"kept"


def test_json_refusal_is_a_json_error(ots: Runner, share: Callable[..., str]) -> None:
    result = ots("run", share(b"x"), "--env", "A", "--json", "--", "true")
    assert result.code == 2
    assert json.loads(result.out)["error"]["code"] == "usage"


def test_words_after_the_double_dash_belong_to_the_command(
    ots: Runner, share: Callable[..., str]
) -> None:
    link = share(b"x")
    result = ots("run", link, "--env", "A", "--", "sh", "-c", 'printf "%s|%s" "$1" "$2"', "sh",
                 "--json", "--env")  # fmt: skip
    assert (result.code, result.out) == (0, b"--json|--env")


def test_the_exit_status_is_the_childs_and_128_plus_a_signal(
    ots: Runner, share: Callable[..., str]
) -> None:
    assert ots("run", share(b"x"), "--env", "A", "--", "sh", "-c", "exit 42").code == 42
    killed = ots("run", share(b"x"), "--env", "A", "--", "sh", "-c", "kill -TERM $$")
    assert (killed.code, killed.err) == (143, "")
    quiet = ots("run", share(b"x"), "--env", "A", "--", "sh", "-c", "exit 130")
    assert (quiet.code, quiet.err) == (130, "")  # the child's 130 is not ots's "interrupted"


def test_a_nul_byte_cannot_be_a_variable(ots: Runner, share: Callable[..., str]) -> None:
    result = ots("run", share(b"a\x00b"), "--env", "A", "--", "true")
    assert result.code == 2
    assert "NUL" in result.err
    assert "--file-env" in result.err


def test_a_passphrase_without_a_way_to_ask_consumes_nothing(
    ots: Runner, share: Callable[..., str], tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("p")
    link = share(b"guarded", "--passphrase-file", str(phrase))
    result = ots("run", link, "--env", "A", "--", "true", env=cli_env(CI="true"))
    assert result.code == 2
    assert "--passphrase-file PATH (CI is set)" in result.err
    assert ots("get", link, "--passphrase-file", str(phrase)).out == b"guarded"


def test_github_masks_the_values_before_the_command_runs(
    ots: Runner, share: Callable[..., str]
) -> None:
    env = cli_env(GITHUB_ACTIONS="true")
    result = ots("run", share(b"masked-value"), "--env", "A", "--", "sh", "-c",
                 'echo "oops: $A" >&2', env=env)  # fmt: skip
    assert result.code == 0
    assert result.err.index("::add-mask::masked-value") < result.err.index("oops")


def _terminated_before_the_child() -> None:
    with Signals(terminal_sends_sigint=False):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # only reached, and cut short, if the handler did not raise at once


def test_a_signal_before_the_child_starts_interrupts_ots() -> None:
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _terminated_before_the_child()
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGTERM) == before


# -- a real ots process, real signals ---------------------------------------------------------


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while not (path.exists() and path.read_text().endswith("\n")):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the child never started: {process.poll()}")
        time.sleep(0.02)  # a real process to wait for: there is no clock to inject
    return path.read_text().strip()


@pytest.mark.parametrize(("sent", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_ots_reaches_the_child_and_the_file_is_removed(
    server: ServerProcess, tmp_path: Path, sent: signal.Signals, status: int
) -> None:
    env = cli_env(OTS_SERVER=server.base_url, READY=str(tmp_path / "ready"))
    shared = run_cli(["share"], stdin=b"interrupted secret", env=env)
    assert shared.code == 0, shared.err
    ots = subprocess.Popen(
        [sys.executable, "-m", "ots_cli", "run", shared.text.strip(), "--file-env", "F", "--",
         "sh", "-c", 'printf "%s\\n" "$F" > "$READY"; exec sleep 60'],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        path = Path(_wait_for(tmp_path / "ready", ots))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_bytes() == b"interrupted secret"
        ots.send_signal(sent)  # to ots only: it must pass the signal on
        out, err = ots.communicate(timeout=30)
    finally:
        if ots.poll() is None:
            os.killpg(ots.pid, signal.SIGKILL)
            ots.wait()
    assert ots.returncode == status
    assert not path.exists()
    assert not path.parent.exists()
    assert b"interrupted secret" not in out + err
