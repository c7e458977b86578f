"""The sender's view: status, list and burn, from local receipts, receipt tokens and links."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from processes import start_server

from ots_cli.core.links import parse_link

from .support import SERVER, Backend, Runner, add_secrets, cli_env, other_key, run_cli


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


# -- many receipts: pages, failures, --cached -------------------------------------------------


def _receipts_dir(tmp_path: Path) -> Path:
    return tmp_path / "ots-config" / "receipts"


def test_list_pages_250_receipts_through_a_real_server_without_a_429(tmp_path: Path) -> None:
    """A real server with its default rate limit (burst 30): 250 receipts take 3 requests."""
    (tmp_path / "server").mkdir()
    server = start_server(
        tmp_path / "server", OTS_RATE_LIMIT_PER_MINUTE="120", OTS_RATE_LIMIT_BURST="30"
    )
    try:
        add_secrets(server.db_path, server.base_url, _receipts_dir(tmp_path), 250, burned=3)
        env = cli_env(OTS_SERVER=server.base_url)
        listed = run_cli(["--json", "list"], env=env)
        table = run_cli(["list"], env=env)
    finally:
        server.stop()
    assert listed.code == 0, listed.err
    receipts = listed.json()["receipts"]
    assert len(receipts) == 250
    assert all(receipt["fresh"] for receipt in receipts)
    assert [r["label"] for r in receipts if r["state"] == "burned"] == [
        "secret 2", "secret 1", "secret 0"
    ]  # fmt: skip
    assert (table.code, table.err) == (0, "")
    assert len(table.text.splitlines()) == 251
    assert "last known" not in table.text


def _failing_second_page(
    backend: Backend, fault: Callable[[httpx.Request], httpx.Response]
) -> tuple[httpx.Client, list[int]]:
    """A client whose second batch status request gets ``fault``; the page sizes asked."""
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipts/status/batch"):
            pages.append(len(json.loads(request.content)["receipts"]))
            if len(pages) == 2:
                return fault(request)
        response: httpx.Response = backend.client.send(request)
        return response

    return httpx.Client(transport=httpx.MockTransport(handler)), pages


def test_a_page_that_fails_shows_its_receipts_last_known_states_marked(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    add_secrets(backend.db, SERVER, _receipts_dir(tmp_path), 150, now=int(backend.clock.now))
    assert ots("list").code == 0  # every receipt now knows it is pending
    ots("burn", "secret 0")  # on the second page (oldest), and known as burned locally

    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    http, pages = _failing_second_page(backend, cut)
    result = ots("--json", "list", http=http)
    assert result.code == 0, result.err
    assert pages == [100, 50]
    receipts = result.json()["receipts"]
    assert [r["fresh"] for r in receipts] == [True] * 100 + [False] * 50
    assert receipts[-1]["label"] == "secret 0"
    assert receipts[-1]["state"] == "burned"  # the last known state, not a guess
    assert {r["state"] for r in receipts[100:-1]} == {"pending"}
    assert result.err.count("ots: warning:") == 1
    assert "showing the last known states" in result.err


def test_a_rate_limited_page_is_marked_and_its_hint_is_worded_right(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    add_secrets(backend.db, SERVER, _receipts_dir(tmp_path), 101, now=int(backend.clock.now))

    def limited(request: httpx.Request) -> httpx.Response:
        body = {"error": "rate_limited", "detail": "slow down", "retry_after": 1}
        return httpx.Response(429, json=body, headers={"Retry-After": "1"})

    http, _ = _failing_second_page(backend, limited)
    result = ots("list", http=http)
    assert result.code == 0, result.err
    rows = result.text.splitlines()[1:]
    assert len(rows) == 101
    assert "last known" not in "".join(rows[:100])
    assert rows[100].endswith("(last known; not refreshed)")
    assert "the server is rate limiting this client" in result.err
    assert "try again in 1 second\n" in result.err


def test_list_from_a_server_without_the_batch_endpoint_asks_receipt_by_receipt(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    """An older server answers the batch path with its plain 404."""
    add_secrets(backend.db, SERVER, _receipts_dir(tmp_path), 3, now=int(backend.clock.now))

    def older(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipts/status/batch"):
            return httpx.Response(404, json={"error": "not_found", "detail": "not found"})
        response: httpx.Response = backend.client.send(request)
        return response

    result = ots("--json", "list", http=httpx.Client(transport=httpx.MockTransport(older)))
    assert result.code == 0, result.err
    assert [r["fresh"] for r in result.json()["receipts"]] == [True] * 3


def test_list_cached_does_not_blame_a_server_it_never_asked(ots: Runner) -> None:
    ots("share", stdin=b"1")
    result = ots("list", "--cached")
    assert result.code == 0
    assert result.text.splitlines()[1].endswith("(last known)")
    assert "did not answer" not in result.text + result.err


# -- forgetting receipts: ots forget, ots list --prune ----------------------------------------


def test_forget_removes_the_local_receipt_only_and_asks_no_server(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    by_link = ots("share", "--label", "by link", stdin=b"1").text.strip()
    ots("share", "--label", "by label", stdin=b"2")
    ots("share", "--label", "by id", stdin=b"3")
    ots("share", "--label", "by token", stdin=b"4")
    receipts = {r["label"]: r for r in ots("--json", "list", "--cached").json()["receipts"]}
    token = next(
        json.loads(path.read_text())["token"]
        for path in _receipts_dir(tmp_path).iterdir()
        if json.loads(path.read_text())["label"] == "by token"
    )
    before = len(backend.recorder.requests)
    gone = ots("--json", "forget", by_link)
    assert gone.code == 0, gone.err
    assert gone.json() == {"id": receipts["by link"]["id"], "server": SERVER, "label": "by link"}
    human = ots("forget", "by label")
    assert human.code == 0
    assert "forgot the receipt of" in human.err
    assert "nothing changed on the server" in human.err
    assert ots("forget", str(receipts["by id"]["id"])[:8]).code == 0
    assert ots("forget", token).code == 0
    assert len(backend.recorder.requests) == before  # nothing left the machine
    assert ots("--json", "list", "--cached").json() == {"receipts": []}
    assert ots("get", by_link).out == b"1"  # the secret itself is untouched


def test_forget_an_unknown_reference_is_a_clear_error(ots: Runner, backend: Backend) -> None:
    link = ots("share", stdin=b"x").text.strip()
    assert ots("forget", link).code == 0
    again = ots("forget", link)
    assert again.code == 5
    assert "no local receipt for this link" in again.err
    unknown = ots("forget", "no-such-label")
    assert unknown.code == 5
    assert "no local receipt matches" in unknown.err
    token = ots("forget", "otsr_" + "A" * 43)
    assert (token.code, "no local receipt has that receipt token" in token.err) == (5, True)


def test_prune_drops_receipts_the_server_has_forgotten_and_keeps_the_rest(
    ots: Runner, backend: Backend
) -> None:
    ots("share", "--ttl", "1m", "--label", "long over", stdin=b"1")
    backend.clock.advance(60 + backend.settings.receipt_grace)  # the server purges it
    read = ots("share", "--label", "read", stdin=b"2").text.strip()
    ots("get", read)
    backend.clock.advance(1)  # newest first: "pending" after "read"
    ots("share", "--label", "pending", stdin=b"3")
    result = ots("--json", "list", "--prune")
    assert result.code == 0, result.err
    assert [r["label"] for r in result.json()["receipts"]] == ["pending", "read"]
    assert "dropped 1 receipt of secrets that are over" in result.err
    assert [r["label"] for r in ots("--json", "list", "--cached").json()["receipts"]] == [
        "pending",
        "read",
    ]
    again = ots("list", "--prune")
    assert "dropped 0 receipts" in again.err


def test_prune_without_a_server_drops_what_expired_more_than_the_grace_ago(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    """The demo's case: the server is gone for good; receipts of secrets that expired over
    7 days ago go, recent ones stay."""
    month_ago = int(time.time()) - 30 * 86_400
    add_secrets(backend.db, SERVER, _receipts_dir(tmp_path), 2, now=month_ago, ttl=600)
    ots("share", "--label", "recent", stdin=b"x")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = ots("list", "--prune", http=httpx.Client(transport=httpx.MockTransport(down)))
    assert result.code == 0, result.err
    assert "dropped 2 receipts" in result.err
    assert [line.split()[1] for line in result.text.splitlines()[1:]] == ["recent"]
    cached = ots("list", "--cached", "--prune")
    assert "dropped 0 receipts" in cached.err
    assert len(cached.text.splitlines()) == 2


def test_prune_and_remote_do_not_mix(ots: Runner) -> None:
    result = ots("list", "--remote", "--prune")
    assert result.code == 2
    assert "--prune or --remote" in result.err
