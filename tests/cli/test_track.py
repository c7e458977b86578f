"""The sender's view: status, list and burn, from local receipts, receipt tokens and links."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ots_cli.links import parse_link

from .support import Backend, Runner, other_key


def _status(ots: Runner, *argv: str) -> dict[str, object]:
    result = ots("--json", "status", *argv)
    assert result.code == 0, result.err
    document: dict[str, object] = result.json()
    return document


def test_status_follows_a_secret_through_its_life(ots: Runner, backend: Backend) -> None:
    link = ots("share", "--views", "2", "--label", "deploy key", stdin=b"x").text.strip()
    pending = _status(ots)
    assert pending["state"] == "pending"
    assert pending["views_left"] == 2
    assert pending["label"] == "deploy key"
    assert pending["source"] == "receipt"
    ots("get", link)
    partly = _status(ots, "deploy key")
    assert partly["state"] == "pending"
    assert partly["views_left"] == 1
    assert partly["read_at"] == int(backend.clock.now)
    backend.clock.advance(5)
    ots("get", link)
    read = _status(ots, parse_link(link, allow_insecure_http=True).id_text[:8])
    assert read["state"] == "read"
    assert read["read_at"] == int(backend.clock.now)
    human = ots("status", "deploy key")
    assert "(deploy key): read" in human.text


def test_status_of_burned_and_expired_secrets(ots: Runner, backend: Backend) -> None:
    ots("share", "--label", "burn me", stdin=b"x")
    assert ots("burn", "burn me").code == 0
    assert _status(ots, "burn me")["state"] == "burned"
    ots("share", "--ttl", "1m", "--label", "let it expire", stdin=b"x")
    backend.clock.advance(61)
    assert _status(ots, "let it expire")["state"] == "expired"
    assert "expired unread" in ots("status", "let it expire").text


def test_status_by_link_works_without_a_local_receipt(ots: Runner, tmp_path: Path) -> None:
    link = ots("share", stdin=b"x").text.strip()
    shutil.rmtree(tmp_path / "ots-config" / "receipts")
    fresh = _status(ots, link)
    assert fresh["state"] == "pending"
    assert fresh["source"] == "link"
    ots("get", link)
    read = _status(ots, link)
    assert read["state"] == "read"
    assert isinstance(read["read_at"], int)


def test_status_by_receipt_token(ots: Runner, tmp_path: Path) -> None:
    ots("share", stdin=b"x")
    (receipt_file,) = (tmp_path / "ots-config" / "receipts").iterdir()
    token = json.loads(receipt_file.read_text())["token"]
    assert _status(ots, token)["state"] == "pending"
    unknown = ots("status", "otsr_" + "A" * 43)
    assert unknown.code == 5
    assert "receipt" in unknown.err


def test_status_without_receipts_or_with_an_unknown_reference(ots: Runner) -> None:
    none = ots("status")
    assert none.code == 5
    assert "no local receipts" in none.err
    ots("share", stdin=b"x")
    assert ots("status", "no-such-label").code == 5


def test_an_ambiguous_prefix_is_a_usage_error(ots: Runner, tmp_path: Path) -> None:
    ots("share", stdin=b"a")
    ots("share", stdin=b"b")
    receipts = tmp_path / "ots-config" / "receipts"
    # Give both receipts the same label: a label matching two receipts is ambiguous.
    for path in receipts.iterdir():
        data = json.loads(path.read_text())
        data["label"] = "twin"
        path.write_text(json.dumps(data))
    result = ots("status", "twin")
    assert result.code == 2
    assert "2 receipts match" in result.err


def test_list_shows_every_receipt_with_a_fresh_state(ots: Runner, backend: Backend) -> None:
    first = ots("share", "--label", "first", stdin=b"1").text.strip()
    backend.clock.advance(1)
    ots("share", "--label", "second", stdin=b"2")
    ots("get", first)
    listed = ots("--json", "list").json()["receipts"]
    assert [(r["label"], r["state"], r["fresh"]) for r in listed] == [
        ("second", "pending", True),
        ("first", "read", True),
    ]
    table = ots("list").text.splitlines()
    assert table[0].split() == ["ID", "LABEL", "STATE"]
    assert len(table) == 3


def test_list_cached_makes_no_request(ots: Runner, backend: Backend) -> None:
    ots("share", stdin=b"1")
    before = len(backend.recorder.requests)
    listed = ots("--json", "list", "--cached").json()["receipts"]
    assert len(backend.recorder.requests) == before
    assert listed[0]["fresh"] is False


def test_list_with_the_server_down_shows_last_known_states(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    import httpx

    ots("share", stdin=b"1")
    ots("share", stdin=b"2")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = ots("--json", "list", http=httpx.Client(transport=httpx.MockTransport(down)))
    assert result.code == 0
    assert [r["fresh"] for r in result.json()["receipts"]] == [False, False]
    assert result.err.count("ots: warning:") == 1  # one warning per unreachable server


def test_list_when_empty(ots: Runner) -> None:
    result = ots("list")
    assert (result.code, result.out) == (0, b"")
    assert "no receipts yet" in result.err
    assert ots("--json", "list").json() == {"receipts": []}


def test_burn_by_link_destroys_the_secret(ots: Runner) -> None:
    link = ots("share", stdin=b"x").text.strip()
    burned = ots("--json", "burn", link)
    assert burned.code == 0
    assert burned.json()["state"] == "burned"
    assert ots("get", link).code == 6
    assert ots("burn", link).code == 0  # burning again is not an error


def test_burn_by_link_without_receipt_after_it_was_read_exits_6(
    ots: Runner, tmp_path: Path
) -> None:
    link = ots("share", stdin=b"x").text.strip()
    shutil.rmtree(tmp_path / "ots-config" / "receipts")
    ots("get", link)
    late = ots("burn", link)
    assert late.code == 6
    assert "too late" in late.err


def test_burn_by_receipt_after_it_was_read_exits_6(ots: Runner) -> None:
    link = ots("share", "--label", "late", stdin=b"x").text.strip()
    ots("get", link)
    late = ots("burn", "late")
    assert late.code == 6
    assert "too late: the secret was already read" in late.err


def test_burn_after_expiry_exits_7(ots: Runner, backend: Backend) -> None:
    ots("share", "--ttl", "1m", "--label", "old", stdin=b"x")
    backend.clock.advance(120)
    assert ots("burn", "old").code == 7


def test_burn_with_a_wrong_key_exits_5_and_burns_nothing(ots: Runner, tmp_path: Path) -> None:
    link = ots("share", stdin=b"x").text.strip()
    shutil.rmtree(tmp_path / "ots-config" / "receipts")
    result = ots("burn", other_key(link))
    assert result.code == 5
    assert ots("get", link).out == b"x"
