"""Unit tests of the CLI's small pure pieces: durations, escaping, server URLs, answers, files."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_cli.api.answers import error_for
from ots_cli.api.http import check_server_url
from ots_cli.core.durations import format_duration, parse_duration
from ots_cli.errors import (
    ConfigError,
    InsecureHttp,
    NotFound,
    PolicyRefused,
    ProtocolError,
    SecretExpired,
    SecretGone,
    Unavailable,
    UsageError,
    WrongPassphrase,
)
from ots_cli.local.files import ReservedFile, create_exclusive, ensure_dir, write_atomic
from ots_cli.local.receipts import Receipt, ReceiptStore
from ots_cli.terminal.output import Output, visible, visible_bytes

# -- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("7d", 604800),
     ("2w", 1209600), ("3600", 3600), (" 1H ", 3600), ("1d2h3m4s", 93784)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0", "0s", "1x", "h", "1m1h", "1h1h", "-5m", "1.5h", "1 h", "5000000w", "\u0661h"]
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=100 * 365 * 86400))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


# -- terminal escaping --------------------------------------------------------------------------


def test_visible_escapes_controls_escapes_and_bidi() -> None:
    text, count = visible("a\x1b[31mred\x07\tb\nc\u202etxt.exe\x9b\r")
    assert text == "a\\x1b[31mred\\x07\tb\nc\\u202etxt.exe\\x9b\\x0d"
    assert count == 5


def test_visible_bytes_shows_undecodable_bytes() -> None:
    assert visible_bytes(b"ok\xff\xfe") == ("ok\\xff\\xfe", 2)


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_visible_output_never_contains_a_control_character(data: bytes) -> None:
    text, _ = visible_bytes(data)
    assert all(ch in "\n\t" or (0x20 <= ord(ch) < 0x7F) or ord(ch) >= 0xA0 for ch in text)
    assert "\x1b" not in text


class _Tty(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_secret_is_raw_when_piped_and_escaped_on_a_terminal() -> None:
    payload = b"[bold]x[/bold]\x1b]52;c;aGk=\x07"
    piped, err = io.BytesIO(), io.BytesIO()
    Output(piped, err, {}).secret(payload)
    assert piped.getvalue() == payload
    tty, tty_err = _Tty(), io.BytesIO()
    Output(tty, tty_err, {}).secret(payload)
    assert tty.getvalue() == b"[bold]x[/bold]\\x1b]52;c;aGk=\\x07\n"
    assert b"2 control or invisible characters" in tty_err.getvalue()
    raw = _Tty()
    Output(raw, io.BytesIO(), {}).secret(payload, raw=True)
    assert raw.getvalue() == payload


def test_colour_follows_the_terminal_and_no_color() -> None:
    assert Output(io.BytesIO(), _Tty(), {"TERM": "xterm"}).colour is True
    assert Output(io.BytesIO(), _Tty(), {"NO_COLOR": "1"}).colour is False
    assert Output(io.BytesIO(), _Tty(), {"TERM": "dumb"}).colour is False
    assert Output(io.BytesIO(), io.BytesIO(), {}).colour is False


def test_diagnostics_never_carry_escape_sequences() -> None:
    err = _Tty()
    out = Output(io.BytesIO(), err, {"NO_COLOR": "1"})
    out.warn("server said \x1b]0;pwned\x07")
    assert err.getvalue() == b"ots: warning: server said \\x1b]0;pwned\\x07\n"


# -- server URLs and answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://ots.example.com", "https://ots.example.com/", "https://h:8443/prefix",
     "http://127.0.0.1:8000", "http://localhost", "http://[::1]:9"],
)  # fmt: skip
def test_accepted_server_urls(url: str) -> None:
    assert check_server_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["ftp://h", "https://", "ots.example.com", "https://u:p@h",
     "https://h/?q=1", "https://h/#f", "https://h:99999"],
)  # fmt: skip
def test_refused_server_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        check_server_url(url)


def test_insecure_allows_plain_http_to_a_remote_host() -> None:
    with pytest.raises(InsecureHttp):
        check_server_url("http://ots.example.com")
    assert check_server_url("http://ots.example.com", insecure=True) == "http://ots.example.com"


def _answer(status: int, body: object, **kw: object) -> Exception:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_for(status, raw, host="h", **kw)  # type: ignore[arg-type]


def test_error_mapping() -> None:
    assert isinstance(_answer(404, {"error": "not_found"}), NotFound)
    gone = _answer(410, {"error": "gone", "state": "consumed", "at": 5})
    assert isinstance(gone, SecretGone)
    assert (gone.state, gone.at) == ("consumed", 5)
    assert isinstance(_answer(410, {"error": "gone", "state": "expired", "at": 5}), SecretExpired)
    assert isinstance(_answer(410, {"error": "gone", "state": "weird"}), ProtocolError)
    wrong = _answer(403, {"error": "wrong_passphrase", "attempts_left": 0, "burned": True})
    assert isinstance(wrong, WrongPassphrase)
    assert wrong.burned is True
    limited = _answer(429, {"error": "rate_limited"}, retry_after="12")
    assert isinstance(limited, PolicyRefused)
    assert limited.retry_after == 12
    assert isinstance(_answer(413, {"error": "too_large", "max_bytes": "x"}), PolicyRefused)
    assert isinstance(_answer(503, {"error": "unavailable"}), Unavailable)
    assert isinstance(_answer(408, {"error": "timeout"}), Unavailable)
    assert isinstance(_answer(507, {"error": "insufficient_storage"}), Unavailable)
    assert isinstance(_answer(500, b"<html>"), ProtocolError)
    assert isinstance(_answer(504, b""), Unavailable)
    assert isinstance(_answer(400, {"error": "bad_request"}), ProtocolError)
    assert isinstance(_answer(404, [1, 2]), ProtocolError)


def test_server_detail_text_is_never_shown() -> None:
    error = _answer(404, {"error": "not_found", "detail": "\x1b]52;c;ZXZpbA==\x07 click here"})
    assert "click here" not in str(error)
    assert not any("click here" in h for h in error.hints)  # type: ignore[attr-defined]


# -- private files ------------------------------------------------------------------------------


def test_ensure_dir_creates_every_missing_level_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    old = os.umask(0)
    try:
        ensure_dir(target)
    finally:
        os.umask(old)
    for level in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700


def test_create_exclusive_refuses_existing_files_and_symlinks(tmp_path: Path) -> None:
    path = tmp_path / "f"
    create_exclusive(path, b"one")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UsageError, match="already exists"):
        create_exclusive(path, b"two")
    assert path.read_bytes() == b"one"
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError):
        create_exclusive(tmp_path / "dangling", b"x")
    assert not (tmp_path / "nowhere").exists()


def test_write_atomic_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "config").symlink_to(victim)
    write_atomic(tmp_path / "config", b"new")
    assert victim.read_bytes() == b"keep"
    assert (tmp_path / "config").read_bytes() == b"new"
    assert not (tmp_path / "config").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "victim"]


def test_reserved_file_is_removed_when_discarded(tmp_path: Path) -> None:
    path = tmp_path / "out"
    reserved = ReservedFile(path)
    assert path.exists()
    reserved.discard()
    assert not path.exists()
    filled = ReservedFile(path)
    filled.fill(b"data")
    filled.discard()  # a no-op once filled
    assert path.read_bytes() == b"data"


# -- receipts -----------------------------------------------------------------------------------


def _receipt(id: str, label: str | None = None, created_at: int = 1) -> Receipt:
    return Receipt(id=id, server="https://s", token="otsr_" + "t" * 43, created_at=created_at,
                   expires_at=99, views=1, passphrase=False, label=label)  # fmt: skip


def test_receipt_store_finds_by_id_prefix_and_label(tmp_path: Path) -> None:
    store = ReceiptStore(tmp_path / "r")
    first, second = "A" * 22, "B" * 21 + "C"
    store.add(_receipt(first, "alpha", created_at=1))
    store.add(_receipt(second, None, created_at=2))
    assert [r.id for r in store.all()] == [second, first]
    assert store.find(first).id == first
    assert store.find("BBBBBB").id == second
    assert store.find("alpha").id == first
    with pytest.raises(NotFound):
        store.find("AAA")  # too short for a prefix
    with pytest.raises(ConfigError):
        store.add(_receipt(first))  # never overwritten by a new share


def test_receipt_repr_hides_the_token() -> None:
    assert "otsr_" not in repr(_receipt("A" * 22))


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"version": 2}',
     json.dumps({"version": 1, "id": "A" * 22}).encode()],
)  # fmt: skip
def test_a_corrupt_receipt_is_a_config_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    store = ReceiptStore(tmp_path)
    (tmp_path / ("A" * 22 + ".json")).write_bytes(content)
    with pytest.raises(ConfigError, match=r"A{22}\.json"):
        store.all()


def test_other_files_in_the_receipts_directory_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".tmp.json").write_text("{")
    assert ReceiptStore(tmp_path).all() == []
