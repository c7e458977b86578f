"""The request files and the request answers of the API, on their own (real files, no server)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ots_cli.api.request_answers import parse_request_status, request_error
from ots_cli.core import b64
from ots_cli.errors import (
    ConfigError,
    NotFound,
    PolicyRefused,
    ProtocolError,
    RequestAnswered,
    RequestOver,
    UsageError,
)
from ots_cli.local.request_files import PendingRequest, RequestFiles

KEY = bytes(range(32))


def _request(index: int, label: str | None = None) -> PendingRequest:
    return PendingRequest(
        server="https://ots.example.com",
        id=bytes([index]) * 16,
        private_key=KEY,
        created_at=1000 + index,
        expires_at=5000 + index,
        label=label,
    )


def test_files_are_private_and_round_trip(tmp_path: Path) -> None:
    files = RequestFiles(tmp_path / "data" / "requests")
    path = files.save(_request(1, "db"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.name == f"{b64.encode(bytes([1]) * 16)}.json"
    data = json.loads(path.read_text())
    assert set(data) == {
        "version", "server", "id", "private_key", "created_at", "expires_at", "label"
    }  # fmt: skip
    assert data["version"] == 1
    assert b64.decode(data["private_key"]) == KEY
    assert files.all() == [_request(1, "db")]
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_the_reference_a_command_line_takes() -> None:
    assert _request(1).reference == _request(1).id_text[:8]
    dashed = PendingRequest(
        server="https://ots.example.com",
        id=b64.decode("-" + "A" * 21, 16),
        private_key=KEY,
        created_at=1,
        expires_at=2,
        label=None,
    )
    assert dashed.reference == "-- -AAAAAAA"


def test_repr_hides_the_private_key() -> None:
    assert repr(KEY) not in repr(_request(1))
    assert "private_key" not in repr(_request(1))


def test_a_write_never_follows_a_symlink(tmp_path: Path) -> None:
    files = RequestFiles(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"keep me")
    request = _request(2)
    (tmp_path / f"{request.id_text}.json").symlink_to(elsewhere)
    files.save(request)
    assert elsewhere.read_bytes() == b"keep me"
    assert not (tmp_path / f"{request.id_text}.json").is_symlink()


def test_find_by_id_prefix_and_label(tmp_path: Path) -> None:
    files = RequestFiles(tmp_path)
    one, two = _request(1, "db"), _request(2, "api")
    files.save(one)
    files.save(two)
    assert files.all() == [two, one]  # newest first
    assert files.find(one.id_text) == one
    assert files.find(two.id_text[:6]) == two
    assert files.find("api") == two
    with pytest.raises(NotFound, match="no request of this machine"):
        files.find("nothing")
    with pytest.raises(NotFound):
        files.find(one.id_text[:5])  # too short to be a prefix
    files.save(_request(3, "db"))
    with pytest.raises(UsageError, match="2 requests match"):
        files.find("db")
    assert files.remove(one.id_text)
    assert not files.remove(one.id_text)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"version": 2}',
        b"{}",
        None,  # a valid file with a field of the wrong type
        "short-key",
        "other-name",
    ],
)
def test_a_damaged_file_is_a_config_error_naming_it(
    tmp_path: Path, content: bytes | str | None
) -> None:
    files = RequestFiles(tmp_path)
    path = files.save(_request(1))
    data = json.loads(path.read_text())
    if content is None:
        data["created_at"] = "yesterday"
        raw = json.dumps(data).encode()
    elif content == "short-key":
        data["private_key"] = data["private_key"][:-2]
        raw = json.dumps(data).encode()
    elif content == "other-name":
        data["id"] = b64.encode(bytes(16))
        raw = json.dumps(data).encode()
    else:
        assert isinstance(content, bytes)
        raw = content
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as info:
        files.all()
    assert str(path) in info.value.message
    assert data["private_key"] not in " ".join([info.value.message, *info.value.hints])


def test_other_names_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".tmp.json").write_text("x")
    assert RequestFiles(tmp_path).all() == []
    assert RequestFiles(tmp_path / "missing").all() == []


# -- answers ------------------------------------------------------------------------------


def _status(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "x",
        "created_at": 1,
        "expires_at": 2,
        "state": "answered",
        "answered_at": 1,
        "sealed": b64.encode(bytes(96)),
    }
    data.update(changes)
    return data


def test_status_answers_are_checked() -> None:
    assert parse_request_status(_status()).sealed == bytes(96)
    assert parse_request_status(_status(state="open", sealed=None)).sealed is None
    # The length is the opener's business: a short one opens as a tampered answer.
    assert parse_request_status(_status(sealed=b64.encode(bytes(5)))).sealed == bytes(5)
    for bad in (
        _status(sealed=None),
        _status(state="open"),
        _status(state="expired"),
        _status(sealed="AA=="),
        _status(sealed=5),
        _status(created_at="1"),
    ):
        with pytest.raises(ProtocolError):
            parse_request_status(bad)


def _error(status: int, body: object, *, owner: bool = False) -> object:
    return request_error(status, json.dumps(body).encode(), owner=owner, host="h")


def test_errors_of_the_request_endpoints() -> None:
    gone = _error(410, {"error": "gone", "state": "expired", "at": 5})
    assert isinstance(gone, RequestOver)
    assert (gone.state, gone.at, gone.exit_code, gone.code) == ("expired", 5, 7, "expired")
    closed = _error(410, {"error": "gone", "state": "closed", "at": 6}, owner=True)
    assert isinstance(closed, RequestOver)
    assert closed.state == "closed"
    answered = _error(409, {"error": "answered", "at": 7})
    assert isinstance(answered, RequestAnswered)
    assert (answered.exit_code, answered.details()) == (6, {"state": "answered", "at": 7})
    missing = _error(404, {"error": "not_found"})
    assert isinstance(missing, NotFound)
    assert "no such request" in missing.message
    owner_missing = _error(404, {"error": "not_found"}, owner=True)
    assert isinstance(owner_missing, NotFound)
    assert "does not know this request" in owner_missing.message
    assert isinstance(_error(410, {"error": "gone", "state": "burned"}), ProtocolError)
    assert isinstance(_error(429, {"error": "rate_limited", "retry_after": 3}), PolicyRefused)
    assert isinstance(_error(409, {"error": "exists"}), ProtocolError)
    assert isinstance(request_error(404, b"<html>", owner=False, host="h"), ProtocolError)
