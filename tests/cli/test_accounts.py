"""Accounts from the CLI: login, logout, whoami, list --remote, and where the token may go.

The server is the real app on SQLite (in-process); accounts are made with its store API, as
the operator's commands do. The keyring is a real ``KeyringBackend`` in memory, or keyring's
own ``fail`` backend (the default of this suite, see conftest).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from ots_cli.core import b64
from ots_cli.local.tokens import TokenFiles

from .keyrings import MemoryKeyring
from .support import SERVER, Backend, Result, Runner, cli_env

EMAIL = "alice@example.org"
SERVICE = "ots:127.0.0.1:8000"
#: The same backend under another name: a different server as far as tokens go.
OTHER = "http://localhost:8000"


@pytest.fixture
def memory(use_keyring: Callable[[KeyringBackend], KeyringBackend]) -> MemoryKeyring:
    ring = MemoryKeyring()
    use_keyring(ring)
    return ring


def login(ots: Runner, token: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return ots("login", "--with-token", *args, stdin=token.encode() + b"\n", env=env)


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def assert_nowhere(token: str, *results: Result) -> None:
    for result in results:
        assert token not in result.text
        assert token not in result.err


def authorized(backend: Backend) -> list[tuple[str, str, str]]:
    """(method, URL, Authorization) of every recorded request, "" when it had none."""
    return [
        (r.method, r.url, r.headers.get("authorization", "")) for r in backend.recorder.requests
    ]


def test_login_checks_the_token_and_keeps_it_in_the_keyring(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    result = login(ots, token)
    assert result.code == 0, result.err
    assert EMAIL in result.err
    assert "system keyring" in result.err
    assert result.out == b""
    assert memory.passwords == {(SERVICE, "token"): token}
    assert authorized(backend) == [
        ("GET", f"{SERVER}/api/v1/account", f"Bearer {token}"),
    ]
    # Only the marker is on disk, and it holds nothing.
    marker = tmp_path / "ots-config" / "tokens" / "127.0.0.1%3A8000.keyring"
    assert files_under(tmp_path / "ots-config") == [marker]
    assert marker.read_bytes() == b""
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    assert stat.S_IMODE(marker.parent.stat().st_mode) == 0o700

    whoami = ots("whoami")
    assert whoami.code == 0, whoami.err
    assert whoami.text == f"{EMAIL}\n"
    assert "the token from the system keyring" in whoami.err
    assert_nowhere(token, result, whoami)


def test_the_token_goes_only_to_its_server_and_only_where_an_account_counts(
    ots: Runner, backend: Backend, memory: MemoryKeyring
) -> None:
    token = backend.add_account(EMAIL)
    assert login(ots, token).code == 0
    backend.recorder.requests.clear()
    shared = ots("share", "--views", "3", stdin=b"x")
    assert shared.code == 0, shared.err
    link = shared.text.strip()
    # The limits (the account's own, with the public URL for the link), then the create.
    assert authorized(backend) == [
        ("GET", f"{SERVER}/api/v1/limits", f"Bearer {token}"),
        ("POST", f"{SERVER}/api/v1/secrets", f"Bearer {token}"),
    ]

    # Reading, status and burning need no account and never carry the token, neither to
    # this server nor, through a link, to any other.
    backend.recorder.requests.clear()
    elsewhere = link.replace(SERVER, OTHER)
    for argv in (["get", link], ["peek", link], ["get", elsewhere], ["status", link]):
        assert ots(*argv).code == 0
    assert ots("status").code == 0
    assert ots("burn", elsewhere).code == 0
    assert all(header == "" for _, _, header in authorized(backend))

    # The keyring token is for 127.0.0.1:8000: another host gets nothing, and its keyring
    # entry (there is none) is not even asked for.
    backend.recorder.requests.clear()
    memory.calls.clear()
    assert ots("--server", OTHER, "share", stdin=b"x").code == 0
    assert all(header == "" for _, _, header in authorized(backend))
    assert memory.calls == []

    # OTS_TOKEN belongs to the server in effect, never to the server of a link.
    backend.recorder.requests.clear()
    env = cli_env(OTS_TOKEN=token)
    other_link = ots("share", stdin=b"y", env=env).text.strip().replace(SERVER, OTHER)
    assert ots("get", other_link, env=env).code == 0
    sent = authorized(backend)
    assert [url for _, url, header in sent if header] == [
        f"{SERVER}/api/v1/limits",
        f"{SERVER}/api/v1/secrets",
    ]


def test_share_as_the_account_and_list_its_receipts_from_anywhere(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    assert login(ots, token).code == 0
    first = ots("share", "--label", "db password", stdin=b"x").text.strip()
    second = ots("share", stdin=b"y").text.strip()
    # Another server name, so no token: anonymous, not the account's.
    assert ots("--server", OTHER, "share", stdin=b"z").code == 0
    assert ots("get", first).code == 0
    listed = ots("--json", "list", "--remote")
    assert listed.code == 0, listed.err
    receipts = listed.json()["receipts"]
    ids = [b64.encode(b64.decode(link.split("/s/")[1].split("#")[0])) for link in (second, first)]
    assert [r["id"] for r in receipts] == ids  # newest first, only the account's
    assert [r["state"] for r in receipts] == ["pending", "read"]
    assert {r["source"] for r in receipts} == {"account"}
    assert receipts[1]["label"] == "db password"  # from the local receipt
    # Another machine: no local receipts, the same list without labels.
    for receipt in (tmp_path / "ots-config" / "receipts").iterdir():
        receipt.unlink()
    table = ots("list", "--remote")
    assert table.code == 0
    assert table.text.splitlines()[0].split() == ["ID", "LABEL", "STATE"]
    assert len(table.text.splitlines()) == 3
    assert "db password" not in table.text


def test_list_remote_needs_a_login_and_is_not_cached(ots: Runner, backend: Backend) -> None:
    anonymous = ots("list", "--remote")
    assert anonymous.code == 4
    assert "not logged in to 127.0.0.1:8000" in anonymous.err
    assert "ots login" in anonymous.err
    assert backend.recorder.requests == []
    assert ots("list", "--remote", "--cached").code == 2


def test_logout_removes_the_token_and_says_from_where(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    assert login(ots, token).code == 0
    result = ots("logout")
    assert result.code == 0, result.err
    assert "removed the token for 127.0.0.1:8000 from the system keyring" in result.err
    assert memory.passwords == {}
    assert files_under(tmp_path / "ots-config") == []
    whoami = ots("whoami")
    assert whoami.code == 4
    assert "not logged in" in whoami.err
    backend.recorder.requests.clear()
    assert ots("share", stdin=b"x").code == 0
    assert all(header == "" for _, _, header in authorized(backend))
    again = ots("--json", "logout")
    assert again.code == 0
    assert again.json() == {"server": SERVER, "removed": []}
    assert "no token was stored for 127.0.0.1:8000" in ots("logout").err
    assert_nowhere(token, result, whoami, again)


def test_an_injected_keystore_replaces_the_system_keyring(backend: Backend) -> None:
    from ots_cli.local.keystore import MemoryKeystore

    from .support import run_cli

    store = MemoryKeystore()  # the system keyring is keyring's "fail" backend here
    token = backend.add_account(EMAIL)
    login = run_cli(
        ["login", "--with-token"], stdin=token.encode(), http=backend.client, keystore=store
    )
    assert login.code == 0, login.err
    assert store.tokens == {SERVICE: token}
    who = run_cli(["whoami"], http=backend.client, keystore=store)
    assert who.text == f"{EMAIL}\n"
    assert run_cli(["whoami"], http=backend.client).code == 3  # without it: no keyring
    assert run_cli(["logout"], http=backend.client, keystore=store).code == 0
    assert store.tokens == {}


def test_resolution_order(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    tokens = {name: backend.add_account(f"{name}@example.org") for name in "abcd"}
    token_file = tmp_path / "token"
    token_file.write_text(tokens["a"] + "\n")
    assert login(ots, tokens["c"]).code == 0
    files = TokenFiles(tmp_path / "ots-config" / "tokens")
    files.write_insecure("127.0.0.1:8000", tokens["d"])

    def who(*argv: str, env: dict[str, str] | None = None) -> tuple[str, str]:
        result = ots("--json", *argv, "whoami", env=env)
        assert result.code == 0, result.err
        document = result.json()
        return document["email"], document["token_source"]

    with_env = cli_env(OTS_TOKEN=tokens["b"])
    assert who("--token-file", str(token_file), env=with_env) == ("a@example.org", "--token-file")
    assert who(env=with_env) == ("b@example.org", "OTS_TOKEN")
    assert who() == ("c@example.org", "keyring")
    memory.passwords.clear()  # the keyring entry went away behind ots's back
    assert who() == ("d@example.org", "insecure file")
    assert ots("logout").code == 0
    assert ots("whoami").code == 4


@pytest.mark.parametrize(
    "given",
    [
        "ots_short",
        "ots_" + "A" * 42 + "B",  # non-canonical: the last character's unused bits set
        "otsr_" + "A" * 43,  # a receipt token
        "ots_" + "A" * 42 + "=",
        "ots_" + "A" * 43 + "A",
        " ots_" + "A" * 42 + "!",
    ],
)
def test_login_refuses_a_malformed_token_before_any_request(
    ots: Runner, backend: Backend, memory: MemoryKeyring, given: str
) -> None:
    result = login(ots, given)
    assert result.code == 2
    assert "ots_ followed by 43 base64url characters" in result.err
    assert given.strip() not in result.err
    assert backend.recorder.requests == []
    assert memory.calls == []


def test_login_with_an_unknown_or_revoked_token_stores_nothing(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    unknown = "ots_" + b64.encode(os.urandom(32))
    refused = login(ots, unknown)
    assert refused.code == 4
    assert "does not accept this token" in refused.err
    assert "nothing was stored" in refused.err
    token = backend.add_account(EMAIL)
    backend.revoke(EMAIL)
    assert login(ots, token).code == 4
    assert memory.calls == []
    assert files_under(tmp_path / "ots-config") == []
    assert_nowhere(unknown, refused)


def test_login_takes_the_token_from_stdin_or_a_prompt_only(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    no_input = ots("login", stdin=token.encode())
    assert no_input.code == 2
    assert "--with-token" in no_input.err
    on_argv = ots("login", token)
    assert on_argv.code == 2
    assert token not in on_argv.err
    assert "command line" in on_argv.err
    assert ots("login", "--token", token).code == 2
    (tmp_path / "t").write_text(token)
    file_given = ots("--token-file", str(tmp_path / "t"), "login")
    assert file_given.code == 2
    assert "--with-token < PATH" in file_given.err
    assert ots("login", "--with-token", stdin=b"").code == 2
    assert ots("login", "--with-token", stdin=b"x" * 5000).code == 2
    assert backend.recorder.requests == []


def test_bad_tokens_from_the_environment_or_a_file_are_refused_before_any_request(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    bad = "ots_" + "A" * 20
    from_env = ots("share", stdin=b"x", env=cli_env(OTS_TOKEN=bad))
    assert from_env.code == 3
    assert "OTS_TOKEN does not hold an ots account token" in from_env.err
    (tmp_path / "bad").write_text(bad)
    from_file = ots("--token-file", str(tmp_path / "bad"), "share", stdin=b"x")
    assert from_file.code == 2
    assert "--token-file" in from_file.err
    missing = ots("--token-file", str(tmp_path / "missing"), "whoami")
    assert missing.code == 2
    assert "no such file" in missing.err
    assert backend.recorder.requests == []
    assert_nowhere(bad, from_env, from_file)


def test_a_revoked_token_is_exit_4_naming_its_source(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    assert login(ots, token).code == 0
    backend.revoke(EMAIL)
    stored = ots("share", stdin=b"x")
    assert stored.code == 4
    assert "rejected the token from the keyring" in stored.err
    assert f"ots login --server {SERVER}` again" in stored.err
    env = ots("whoami", env=cli_env(OTS_TOKEN=token))
    assert env.code == 4
    assert "rejected the token in OTS_TOKEN" in env.err
    (tmp_path / "t").write_text(token)
    file = ots("--json", "--token-file", str(tmp_path / "t"), "list", "--remote")
    assert file.code == 4
    assert "--token-file" in file.json()["error"]["message"]
    assert file.json()["error"]["code"] == "auth"
    assert_nowhere(token, stored, env, file)


def test_a_server_for_account_holders_only(tmp_path: Path) -> None:
    from .support import run_cli

    backend = Backend(tmp_path, require_account=True)
    with backend.client:
        token = backend.add_account(EMAIL)
        refused = run_cli(["share"], stdin=b"x", http=backend.client)
        assert refused.code == 4
        assert "this server only lets account holders create secrets" in refused.err
        assert f"ots login --server {SERVER}" in refused.err
        # A large secret is not even uploaded: the published limits say accounts only.
        backend.recorder.requests.clear()
        large = run_cli(["share"], stdin=os.urandom(100 * 1024), http=backend.client)
        assert large.code == 4
        assert "only lets account holders" in large.err
        assert [(r.method, r.url) for r in backend.recorder.requests] == [
            ("GET", f"{SERVER}/api/v1/limits")
        ]
        env = cli_env(OTS_TOKEN=token)
        link = run_cli(["share"], stdin=b"x", env=env, http=backend.client).text.strip()
        # Reading never needs an account.
        read = run_cli(["get", link], http=backend.client)
        assert read.code == 0, read.err
        assert read.out == b"x"


def test_the_account_s_limits_apply_and_are_checked_before_a_large_upload(tmp_path: Path) -> None:
    from .support import run_cli

    backend = Backend(tmp_path, max_bytes=128 * 1024)
    with backend.client:
        env = cli_env(OTS_TOKEN=backend.add_account(EMAIL))
        large = os.urandom(200 * 1024)
        anonymous = run_cli(["share"], stdin=large, http=backend.client)
        assert anonymous.code == 10
        assert "(it takes at most 128 KiB once encrypted)" in anonymous.err
        assert "ots: hint: an account on this server may take more" in anonymous.err
        assert run_cli(["share", "--ttl", "14d"], stdin=b"x", http=backend.client).code == 10
        backend.recorder.requests.clear()
        shared = run_cli(["share"], stdin=large, env=env, http=backend.client)
        assert shared.code == 0, shared.err
        assert [
            (method, url.rsplit("/", 1)[1], bool(header))
            for method, url, header in authorized(backend)
        ] == [
            ("GET", "limits", True),
            ("POST", "secrets", True),
        ]
        longer = run_cli(["share", "--ttl", "14d"], stdin=b"x", env=env, http=backend.client)
        assert longer.code == 0, longer.err
        link = shared.text.strip()
        assert run_cli(["get", link], http=backend.client).out == large
        # Past the account's own limit (4 x OTS_MAX_BYTES): no account to suggest, only the
        # setting the operator would change.
        too_large = run_cli(["share"], stdin=os.urandom(600 * 1024), env=env, http=backend.client)
        assert too_large.code == 10
        assert "(it takes at most 512 KiB once encrypted)" in too_large.err
        assert "an account on this server may take more" not in too_large.err
        assert "OTS_ACCOUNT_MAX_BYTES" in too_large.err


def test_run_does_not_hand_ots_token_to_the_command(ots: Runner, backend: Backend) -> None:
    token = backend.add_account(EMAIL)
    env = cli_env(OTS_TOKEN=token)
    link = ots("share", stdin=b"value", env=env).text.strip()
    probe = (
        "import os, sys; sys.stdout.write(repr([os.environ.get(n) for n in ('OTS_TOKEN', 'S')]))"
    )
    result = ots("run", link, "--env", "S", "--", sys.executable, "-c", probe, env=env)
    assert result.code == 0, result.err
    assert result.text == repr([None, "value"])


# -- the keyring's failure modes, through the CLI -------------------------------------------


def _alternatives(err: str) -> None:
    for alternative in ("OTS_TOKEN", "--token-file", "--insecure-storage"):
        assert alternative in err


def test_no_keyring_is_a_config_error_naming_the_alternatives(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    result = login(ots, token)  # keyring's "fail" backend
    assert result.code == 3
    assert "no system keyring is available" in result.err
    _alternatives(result.err)
    assert files_under(tmp_path / "ots-config") == []
    assert_nowhere(token, result)


def test_insecure_storage_is_explicit_private_and_said(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    result = login(ots, token, "--insecure-storage")
    assert result.code == 0, result.err
    assert "ots: warning: the token is stored unencrypted in" in result.err
    path = tmp_path / "ots-config" / "tokens" / "127.0.0.1%3A8000.token"
    assert files_under(tmp_path / "ots-config") == [path]
    assert path.read_text() == token + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    who = ots("--json", "whoami")
    assert who.json()["token_source"] == "insecure file"
    assert ots("share", stdin=b"x").code == 0
    out = ots("logout")
    assert out.code == 0
    assert "from the insecure token file" in out.err
    assert not path.exists()
    assert_nowhere(token, result, who, out)


def test_a_stored_token_is_never_silently_skipped(
    ots: Runner,
    backend: Backend,
    use_keyring: Callable[[KeyringBackend], KeyringBackend],
    tmp_path: Path,
) -> None:
    from keyring.errors import KeyringLocked

    from .keyrings import RaisingKeyring, fail_keyring

    token = backend.add_account(EMAIL)
    use_keyring(MemoryKeyring())
    assert login(ots, token).code == 0
    # The file of an earlier --insecure-storage would be the plain-text fall-back: never used.
    TokenFiles(tmp_path / "ots-config" / "tokens").write_insecure("127.0.0.1:8000", token)
    backend.recorder.requests.clear()
    use_keyring(fail_keyring())
    gone = ots("share", stdin=b"x")
    assert gone.code == 3
    _alternatives(gone.err)
    use_keyring(RaisingKeyring(KeyringLocked("locked")))
    locked = ots("whoami")
    assert locked.code == 3
    assert "the system keyring is locked" in locked.err
    assert backend.recorder.requests == []
    # logout cannot reach the keyring: it says so and keeps the marker to try again later.
    out = ots("logout")
    assert out.code == 3
    assert (tmp_path / "ots-config" / "tokens" / "127.0.0.1%3A8000.keyring").exists()
    assert "insecure token file was removed" in out.err


def test_a_keyring_that_forgets_is_an_error(
    ots: Runner, backend: Backend, use_keyring: Callable[[KeyringBackend], KeyringBackend]
) -> None:

    from .keyrings import null_keyring

    use_keyring(null_keyring())
    result = login(ots, backend.add_account(EMAIL))
    assert result.code == 3
    assert "did not keep the token" in result.err


def test_a_hanging_keyring_times_out(
    ots: Runner, backend: Backend, use_keyring: Callable[[KeyringBackend], KeyringBackend]
) -> None:
    import time

    from .keyrings import BlockingKeyring

    token = backend.add_account(EMAIL)
    ring = BlockingKeyring()
    use_keyring(ring)
    try:
        started = time.monotonic()
        result = login(ots, token, env=cli_env(OTS_KEYRING_TIMEOUT="0.3"))
        elapsed = time.monotonic() - started
    finally:
        ring.release()
    assert ring.entered.is_set()
    assert result.code == 3
    assert "did not answer within 0.3 seconds" in result.err
    assert "OTS_KEYRING_TIMEOUT" in result.err
    _alternatives(result.err)
    assert elapsed < 0.3 + 1.0
    bad = login(ots, token, env=cli_env(OTS_KEYRING_TIMEOUT="soon"))
    assert bad.code == 3
    assert "OTS_KEYRING_TIMEOUT" in bad.err


def test_the_keyring_is_asked_only_when_a_token_was_stored_there(
    ots: Runner, backend: Backend, memory: MemoryKeyring
) -> None:
    token = backend.add_account(EMAIL)
    assert ots("share", stdin=b"x").code == 0
    assert memory.calls == []
    assert login(ots, token).code == 0
    memory.calls.clear()
    assert ots("share", stdin=b"x", env=cli_env(OTS_TOKEN=token)).code == 0
    assert memory.calls == []  # OTS_TOKEN comes first
    assert ots("share", stdin=b"x").code == 0
    assert memory.calls == [("get", SERVICE, "token")]


def test_the_token_is_never_written_to_the_config_file(
    ots: Runner, backend: Backend, memory: MemoryKeyring, tmp_path: Path
) -> None:
    token = backend.add_account(EMAIL)
    assert ots("config", "set", "ttl", "1h").code == 0
    assert login(ots, token).code == 0
    show = ots("--json", "config", "show", env=cli_env(OTS_TOKEN=token))
    config = (tmp_path / "ots-config" / "config.toml").read_text()
    assert token not in config
    assert token not in json.dumps(show.json())
    assert_nowhere(token, show)
