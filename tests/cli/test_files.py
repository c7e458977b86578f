"""Files and large secrets through the CLI, in-process against the real app (issue #8).

Where the output goes (``-o``, a pipe, a terminal's current directory), hostile names from a
sender, downloads cut off after the server released the secret, the size guards for what is
held in memory, and the encrypted spool for large stdin. Real processes, sizes up to 1 GiB and
memory are in test_large_files.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from processes import ServerProcess, start_server

from ots_cli.__main__ import main
from ots_cli.core import format as ots_format
from ots_cli.core.envelope import Meta
from ots_cli.core.format import CHUNK_SIZE, Suite, decode_header
from ots_cli.errors import DecryptionFailed
from ots_cli.local.spool import Spool

from .support import Backend, Result, Runner, Terminal, cli_env, run_cli


class _Tty(io.BytesIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(
    argv: list[str], backend: Backend, *, http: httpx.Client | None = None
) -> Result:
    """``main(argv)`` with stdout a terminal (stdin is not, so nothing is asked)."""
    out, err = _Tty(), io.BytesIO()
    code = main(
        argv,
        stdin=io.BytesIO(),
        stdout=out,
        stderr=err,
        env=cli_env(),
        http_client=http or backend.client,
    )
    return Result(code, out.getvalue(), err.getvalue().decode("utf-8"))


@pytest.fixture
def big_backend(tmp_path: Path) -> Iterator[Backend]:
    server = Backend(tmp_path / "big", max_bytes=8 << 20)
    with server.client:
        yield server


def _share_file(ots: Runner, path: Path, *options: str) -> str:
    result = ots("share", *options, str(path))
    assert result.code == 0, result.err
    return result.text.strip()


def _fresh_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory, made the current one (where a terminal's get saves files)."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


# -- sharing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "suite"),
    [
        (0, Suite.SEALED),
        (1, Suite.SEALED),
        (CHUNK_SIZE - 64, Suite.SEALED),  # envelope + body still within 64 KiB
        (CHUNK_SIZE, Suite.STREAM),
        (CHUNK_SIZE + 1, Suite.STREAM),
        (3 * CHUNK_SIZE + 7, Suite.STREAM),
    ],
)
def test_a_file_takes_the_suite_its_padded_size_gives_and_round_trips_to_a_file(
    ots: Runner, backend: Backend, tmp_path: Path, size: int, suite: Suite
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(size))
    link = _share_file(ots, source, "--allow-empty")
    assert _peek_header(backend, link).suite == suite
    target = tmp_path / "out.bin"
    got = ots("get", link, "-o", str(target))
    assert got.code == 0, got.err
    assert target.read_bytes() == source.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def _peek_header(backend: Backend, link: str) -> ots_format.Header:
    from ots_cli.api.client import Api
    from ots_cli.core import crypto
    from ots_cli.core.links import parse_link

    parsed = parse_link(link, allow_insecure_http=True)
    assert parsed.server is not None
    peeked = Api(backend.client, parsed.server).peek(
        parsed.id, crypto.link_proof(parsed.id, parsed.key)
    )
    return decode_header(peeked.header)[0]


def test_a_file_carries_its_name_and_media_type_inside_the_encryption(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.7")
    link = _share_file(ots, source)
    create = next(r for r in backend.recorder.requests if r.url.endswith("/secrets"))
    assert b"report" not in create.content
    assert b"application/pdf" not in create.content
    got = ots("--json", "get", link)
    assert (got.json()["name"], got.json()["media_type"]) == ("report.pdf", "application/pdf")
    unknown = tmp_path / "data.unknownext"
    unknown.write_bytes(b"?")
    assert ots("--json", "get", _share_file(ots, unknown)).json()["media_type"] is None


def _uploaded_blob(backend: Backend) -> bytes:
    """The blob of the last create request (the frame is u32 meta length, meta, blob)."""
    create = [r for r in backend.recorder.requests if r.url.endswith("/secrets")][-1]
    (meta_length,) = struct.unpack_from(">I", create.content)
    return create.content[4 + meta_length :]


@pytest.mark.parametrize("size", [5, 1000, 1500, 40_000, 64_000, 200_000])
def test_a_file_and_a_text_of_the_same_size_look_the_same_to_the_server(
    ots: Runner, backend: Backend, tmp_path: Path, size: int
) -> None:
    # The suite byte is public: it must not say "file" or "text", so the suite follows from
    # the padded size alone (FORMAT.md, "Choosing a suite"), whatever the input was.
    body = os.urandom(size)
    source = tmp_path / "notes.txt"
    source.write_bytes(body)
    _share_file(ots, source)
    as_file = _uploaded_blob(backend)
    assert ots("share", stdin=body).code == 0
    as_text = _uploaded_blob(backend)
    assert as_file[5] == as_text[5]  # the suite byte (docs/FORMAT.md, "Header")
    assert len(as_file) == len(as_text)
    assert as_file[5] == (Suite.SEALED if size <= 64_000 else Suite.STREAM)


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        (b"caf\xe9 menu.txt", "caf_ menu.txt"),  # Latin-1, not UTF-8
        (b"report\x1b[31m.pdf", "report[31m.pdf"),  # an escape sequence
        (b"two\nlines.txt", "twolines.txt"),
        (b"back\\slash.txt", "back_slash.txt"),  # a separator elsewhere
        (b"\x01\x02", None),  # nothing left: sent without a name
    ],
)
def test_a_file_name_a_secret_cannot_carry_is_cleaned_and_the_sender_is_told(
    ots: Runner, tmp_path: Path, raw: bytes, sent: str | None
) -> None:
    path = os.fsdecode(os.fsencode(tmp_path) + b"/" + raw)
    Path(path).write_bytes(b"body")
    result = ots("share", path)
    assert result.code == 0, result.err
    assert "ots: warning: the file name " in result.err
    if sent is None:
        assert "it is sent without a name" in result.err
    else:
        assert f'the recipient will see "{sent}"' in result.err
    assert "\x1b" not in result.err  # the original name is shown escaped, never raw
    got = ots("--json", "get", result.text.strip())
    assert got.code == 0, got.err
    assert (got.json()["name"], got.json()["secret"]) == (sent, "body")


def test_a_good_file_name_is_sent_as_it_is_without_a_warning(ots: Runner, tmp_path: Path) -> None:
    source = tmp_path / ".env ünï (1).txt"
    source.write_bytes(b"body")
    result = ots("share", str(source))
    assert (result.code, result.err) == (0, "")
    assert ots("--json", "get", result.text.strip()).json()["name"] == source.name


def test_small_stdin_is_sealed_whole_and_large_stdin_streams(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    small = ots("share", stdin=b"x" * 60_000)
    held = ots("share", stdin=b"x" * (64 * 1024))  # in memory, but pads past 64 KiB
    large_secret = os.urandom(64 * 1024 + 1)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    large = ots("share", stdin=large_secret, env=cli_env(TMPDIR=str(spool_dir)))
    assert _peek_header(backend, small.text.strip()).suite == Suite.SEALED
    assert _peek_header(backend, held.text.strip()).suite == Suite.STREAM
    assert _peek_header(backend, large.text.strip()).suite == Suite.STREAM
    assert list(spool_dir.iterdir()) == []  # the spool left nothing behind
    got = ots("get", large.text.strip())
    assert (got.code, got.out) == (0, large_secret)


def test_stdin_redirected_from_a_large_file_streams_without_a_spool(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ots_cli.local import spool

    def no_spool(*args: object) -> None:
        raise AssertionError("a regular file on stdin must not be spooled")

    monkeypatch.setattr(spool, "Spool", no_spool)
    source = tmp_path / "big.bin"
    source.write_bytes(b"skipped" + os.urandom(3 * CHUNK_SIZE))
    out, err = io.BytesIO(), io.BytesIO()
    with source.open("rb") as stdin:
        stdin.read(7)  # a shell may hand over a file that was partly read: start from there
        code = main(
            ["share"],
            stdin=stdin,
            stdout=out,
            stderr=err,
            env=cli_env(),
            http_client=backend.client,
        )
    assert code == 0, err.getvalue()
    link = out.getvalue().decode().strip()
    assert _peek_header(backend, link).suite == Suite.STREAM
    got = run_cli(["get", link], http=backend.client)
    assert (got.code, got.out) == (0, source.read_bytes()[7:])


def test_the_upload_streams_with_a_content_length(big_backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(3 * CHUNK_SIZE))
    result = run_cli(["share", str(source)], http=big_backend.client)
    assert result.code == 0, result.err
    create = next(r for r in big_backend.recorder.requests if r.url.endswith("/secrets"))
    assert int(create.headers["content-length"]) == len(create.content)
    assert len(create.content) > 3 * CHUNK_SIZE


def test_a_file_that_grows_while_it_is_shared_is_refused(
    ots: Runner, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "growing.log"
    source.write_bytes(b"a" * (2 * CHUNK_SIZE))
    from ots_cli.core import stream

    real = stream.plaintext_chunks

    def growing(*args: object, **kwargs: object) -> Iterator[bytes]:
        with source.open("ab") as handle:
            handle.write(b"more")  # the file grows after its size was taken
        yield from real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "plaintext_chunks", growing)
    result = ots("share", str(source))
    assert result.code == 2
    assert "changed while it was read" in result.err
    assert "nothing was shared" in result.err


def test_a_directory_is_refused(ots: Runner, tmp_path: Path) -> None:
    result = ots("share", str(tmp_path))
    assert result.code == 2
    assert "is a directory" in result.err


# -- where the secret goes -------------------------------------------------------------------


def test_on_a_terminal_a_file_is_saved_under_its_name_in_the_current_directory(
    ots: Runner, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.7 not really")
    link = _share_file(ots, source)
    here = _fresh_cwd(tmp_path, monkeypatch)
    result = run_on_terminal(["get", link], backend)
    assert result.code == 0, result.err
    assert result.out == b""  # nothing on the terminal but the note on stderr
    assert (here / "report.pdf").read_bytes() == source.read_bytes()
    assert stat.S_IMODE((here / "report.pdf").stat().st_mode) == 0o600
    assert "wrote" in result.err


def test_an_existing_file_is_never_overwritten_the_secret_gets_a_new_name(
    ots: Runner, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"the secret notes")
    link = _share_file(ots, source)
    here = _fresh_cwd(tmp_path, monkeypatch)
    (here / "notes.txt").write_bytes(b"mine, keep me")
    result = run_on_terminal(["get", link], backend)
    assert result.code == 0, result.err
    assert (here / "notes.txt").read_bytes() == b"mine, keep me"
    assert (here / "notes (1).txt").read_bytes() == b"the secret notes"


def test_a_terminal_in_a_directory_it_cannot_write_loses_the_file_with_exit_12(
    ots: Runner, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF")
    link = _share_file(ots, source)
    here = _fresh_cwd(tmp_path, monkeypatch)
    here.rmdir()  # the working directory vanished under ots's feet
    result = run_on_terminal(["get", link], backend)
    assert result.code == 12, result.err
    assert "the secret was consumed and its data is lost" in result.err


def test_a_large_text_secret_on_a_terminal_is_saved_not_dumped(
    ots: Runner, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ots_cli.usecases import deliver

    monkeypatch.setattr(deliver, "SHOW_LIMIT", 1000)
    link = ots("share", stdin=b"t" * 2000).text.strip()
    here = _fresh_cwd(tmp_path, monkeypatch)
    result = run_on_terminal(["get", link], backend)
    assert result.code == 0, result.err
    assert result.out == b""
    saved = list(here.iterdir())
    assert [p.name for p in saved] == [f"ots-{link.split('/s/')[1][:8]}"]
    assert saved[0].read_bytes() == b"t" * 2000


def test_a_large_secret_streams_to_a_pipe(ots: Runner, big_backend: Backend) -> None:
    secret = os.urandom(5 * CHUNK_SIZE + 3)
    link = run_cli(["share"], stdin=secret, http=big_backend.client).text.strip()
    got = run_cli(["get", link], http=big_backend.client)
    assert got.code == 0, got.err
    assert hashlib.sha256(got.out).digest() == hashlib.sha256(secret).digest()


def test_dash_o_replaces_only_with_force(ots: Runner, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(200 * 1024))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "out.bin"
    target.write_bytes(b"old")
    link = _share_file(ots, source)
    refused = ots("get", link, "-o", str(target))
    assert refused.code == 2
    assert target.read_bytes() == b"old"
    replaced = ots("get", link, "-o", str(target), "--force")
    assert replaced.code == 0, replaced.err
    assert target.read_bytes() == source.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in out.iterdir()] == ["out.bin"]  # no temporary file left


# -- hostile senders -------------------------------------------------------------------------


def _raw_envelope(meta: Meta, body_length: int) -> bytes:
    """An envelope written without the format's checks: what a hostile client can send."""
    parts = [struct.pack(">BQ", 2, body_length)]
    name = (meta.name or "").encode("utf-8", "surrogateescape")
    parts += [bytes((len(name),)), name, b"\x00"]
    return b"".join(parts)


def _share_named(ots: Runner, monkeypatch: pytest.MonkeyPatch, name: str, body: bytes) -> str:
    from ots_cli.core import crypto

    with monkeypatch.context() as patch:
        patch.setattr(crypto, "encode_envelope", _raw_envelope)
        patch.setattr("ots_cli.local.inputs.good_file_name", lambda _name: True)
        patch.setattr("ots_cli.local.inputs.Path", lambda _text: _Named(_text, name))
        result = ots("share", "FILE")
    assert result.code == 0, result.err
    return result.text.strip()


class _Named:
    """A path whose ``.name`` is whatever a hostile sender wants."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name

    def open(self, mode: str) -> BinaryIO:
        return Path(os.environ["OTS_TEST_SOURCE"]).open("rb")


@pytest.fixture
def sender_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    body = b"hostile sender's payload"
    source = tmp_path / "payload"
    source.write_bytes(body)
    monkeypatch.setenv("OTS_TEST_SOURCE", str(source))
    return body


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "/abs", "a\x1b]0;pwned\x07b", "new\nline", "bad\udcffutf8", ".."],
    ids=["traversal", "absolute", "escape", "newline", "not-utf8", "dotdot"],
)
def test_a_name_the_format_forbids_is_refused_and_nothing_is_written(
    ots: Runner,
    backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sender_file: bytes,
    name: str,
) -> None:
    link = _share_named(ots, monkeypatch, name, sender_file)
    _fresh_cwd(tmp_path, monkeypatch)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run_on_terminal(["get", link], backend)
    assert result.code == 8, result.err
    assert "envelope is invalid" in result.err or "name" in result.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert "\x1b" not in result.err


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        (".bashrc", "bashrc"),
        ("-rf", "rf"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("CON", "_CON"),
        ("..hidden", "hidden"),
        ("y" * 255, "y" * 255),
    ],
    ids=["dotfile", "option", "bidi", "device", "dots", "longest"],
)
def test_a_tricky_name_the_format_allows_is_saved_safely_inside_the_directory(
    ots: Runner,
    backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sender_file: bytes,
    name: str,
    saved: str,
) -> None:
    link = _share_named(ots, monkeypatch, name, sender_file)
    here = _fresh_cwd(tmp_path, monkeypatch)
    result = run_on_terminal(["get", link], backend)
    assert result.code == 0, result.err
    assert [p.name for p in here.iterdir()] == [saved]
    assert (here / saved).read_bytes() == sender_file
    assert "\u202e" not in result.err


def test_an_empty_name_gets_a_name_of_ots_own(
    ots: Runner,
    backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sender_file: bytes,
) -> None:
    link = _share_named(ots, monkeypatch, "", sender_file)
    here = _fresh_cwd(tmp_path, monkeypatch)
    result = run_on_terminal(["get", link], backend)
    assert result.code == 0, result.err
    assert [p.name for p in here.iterdir()] == [f"ots-{link.split('/s/')[1][:8]}"]


# -- interrupted downloads -------------------------------------------------------------------


class _CutReveal(httpx.BaseTransport):
    """Passes requests to the real app; the reveal's body stops after ``keep`` bytes with the
    error httpx raises when a server closes the connection early."""

    def __init__(self, inner: httpx.Client, keep: int) -> None:
        self.inner = inner
        self.keep = keep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.send(request)
        body = response.read()
        if request.url.path.endswith("/reveal") and response.status_code == 200:
            return httpx.Response(200, headers=response.headers, stream=_Cut(body[: self.keep]))
        return httpx.Response(response.status_code, headers=response.headers, content=body)


class _Cut(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


@pytest.mark.parametrize("keep", [10, 100_000], ids=["in-header", "mid-body"])
def test_a_download_cut_after_the_reveal_exits_12_and_says_the_data_is_gone(
    ots: Runner, backend: Backend, tmp_path: Path, keep: int
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(300 * 1024))
    link = _share_file(ots, source)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "out.bin"
    cutting = httpx.Client(transport=_CutReveal(backend.client, keep))
    result = ots("get", link, "-o", str(target), http=cutting)
    assert result.code == 12, result.err
    assert "cut off after the server released the secret" in result.err
    assert "the data is gone" in result.err
    assert list(out.iterdir()) == []  # neither the claimed file nor a temporary one
    assert ots("get", link).code == 6  # the view was spent


class _InterruptedReveal(_CutReveal):
    """The person presses Ctrl-C while the reveal's body arrives."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/reveal") and response.status_code == 200:
            return httpx.Response(200, headers=response.headers, stream=_CtrlC(b"\x00" * 10))
        return response


class _CtrlC(_Cut):
    def __iter__(self) -> Iterator[bytes]:
        raise KeyboardInterrupt


def test_ctrl_c_during_a_download_exits_130_and_says_the_secret_was_consumed(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(100 * 1024))
    link = _share_file(ots, source)
    out = tmp_path / "out"
    out.mkdir()
    interrupted = httpx.Client(transport=_InterruptedReveal(backend.client, 0))
    result = ots("get", link, "-o", str(out / "x"), http=interrupted)
    assert result.code == 130
    assert "interrupted during the download: the secret was consumed" in result.err
    assert list(out.iterdir()) == []


def test_a_cut_download_in_json_mode_has_the_lost_code(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(200 * 1024))
    link = _share_file(ots, source)
    cutting = httpx.Client(transport=_CutReveal(backend.client, 70_000))
    result = ots("--json", "get", link, "-o", str(tmp_path / "o"), http=cutting)
    assert result.code == 12
    assert result.json()["error"]["code"] == "lost"


def test_tampering_in_a_late_chunk_exits_8_and_leaves_no_file(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    from .test_roundtrip import _Tamper

    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(300 * 1024))
    link = _share_file(ots, source)
    target = tmp_path / "out.bin"
    result = ots(
        "get", link, "-o", str(target), http=httpx.Client(transport=_Tamper(backend.client, -5))
    )
    assert result.code == 8
    assert "used up a view" in result.err
    assert not target.exists()


# -- what is held in memory ------------------------------------------------------------------


def test_json_refuses_a_secret_too_large_to_hold_before_consuming_it(
    ots: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ots_cli.usecases import fetch

    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(100 * 1024))
    link = _share_file(ots, source)
    monkeypatch.setattr(fetch, "MEMORY_LIMIT", 50 * 1024)
    result = ots("--json", "get", link)
    assert result.code == 2
    assert "nothing was consumed" in result.err
    run = ots("run", link, "--env", "X", "--", "true")
    assert run.code == 2
    assert "nothing was consumed" in run.err
    monkeypatch.undo()
    assert ots("get", link).out == source.read_bytes()


# -- the spool -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE - 1])
def test_the_spool_gives_back_exactly_what_went_in(size: int) -> None:
    data = os.urandom(size)
    with Spool() as spool:
        for offset in range(0, size, 10_000):
            spool.write(data[offset : offset + 10_000])
        spool.finish()
        assert spool.length == size
        assert spool.reader().read() == data


def test_the_spool_file_holds_no_plaintext_and_no_name(tmp_path: Path) -> None:
    marker = b"PLAINTEXT-MARKER-" * 10_000
    with Spool(str(tmp_path)) as spool:
        spool.write(marker)
        spool.finish()
        assert list(tmp_path.iterdir()) == []  # anonymous: nothing to find, nothing to leave
        spool._file.seek(0)
        on_disk = spool._file.read()
    assert len(on_disk) > len(marker)
    assert b"PLAINTEXT" not in on_disk


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend"])
def test_a_spool_altered_on_disk_is_refused(damage: str) -> None:
    with Spool() as spool:
        spool.write(os.urandom(3 * CHUNK_SIZE))
        spool.finish()
        handle = spool._file
        if damage == "flip":
            handle.seek(CHUNK_SIZE + 100)
            byte = handle.read(1)
            handle.seek(CHUNK_SIZE + 100)
            handle.write(bytes([byte[0] ^ 1]))
        elif damage == "truncate":
            handle.truncate(2 * CHUNK_SIZE)
        else:
            handle.seek(0, os.SEEK_END)
            handle.write(b"x")
        handle.flush()
        with pytest.raises(DecryptionFailed):
            spool.reader().read()


# -- a person at a terminal (real processes) -------------------------------------------------


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("roomy"), OTS_MAX_BYTES=str(16 << 20))
    try:
        yield process
    finally:
        process.stop()


def _on_screen(argv: list[str], server: ServerProcess, **options: Any) -> tuple[int, bytes, bytes]:
    terminal = Terminal(argv, cli_env(OTS_SERVER=server.base_url), **options)
    try:
        code = terminal.finish(timeout=60)
    finally:
        terminal.close()
    return code, terminal.screen, terminal.out


def test_progress_bars_show_on_a_terminal_and_not_with_q(
    roomy_server: ServerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "two-mib.bin"
    source.write_bytes(os.urandom(2 << 20))
    code, screen, out = _on_screen(["share", str(source)], roomy_server)
    assert code == 0, screen
    assert b"encrypting and uploading" in screen
    assert b"MiB" in screen
    target = tmp_path / "out.bin"
    code, screen, _ = _on_screen(
        ["get", "--yes", out.decode().strip(), "-o", str(target)], roomy_server
    )
    assert code == 0, screen
    assert b"downloading and decrypting" in screen
    assert target.read_bytes() == source.read_bytes()
    code, screen, out = _on_screen(["-q", "share", str(source)], roomy_server)
    assert code == 0, screen
    assert b"uploading" not in screen
    assert out.startswith(roomy_server.base_url.encode())


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    roomy_server: ServerProcess, tmp_path: Path
) -> None:
    import subprocess
    import sys

    source = tmp_path / "two-mib.bin"
    source.write_bytes(os.urandom(2 << 20))
    shared = subprocess.run(
        [sys.executable, "-m", "ots_cli", "share", str(source)],
        env=cli_env(OTS_SERVER=roomy_server.base_url),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert shared.returncode == 0, shared.stderr
    assert shared.stderr == b""
    got = subprocess.run(
        [sys.executable, "-m", "ots_cli", "get", shared.stdout.decode().strip()],
        env=cli_env(OTS_SERVER=roomy_server.base_url),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    assert got.stderr == b""
    assert got.stdout == source.read_bytes()


@pytest.mark.parametrize(("answer", "saved"), [(b"y\n", ".env"), (b"n\n", "env")])
def test_a_hidden_file_name_is_kept_only_when_the_person_agrees(
    roomy_server: ServerProcess, tmp_path: Path, answer: bytes, saved: str
) -> None:
    source = tmp_path / ".env"
    source.write_bytes(b"TOKEN=abc\n")
    code, screen, out = _on_screen(["share", str(source)], roomy_server)
    assert code == 0, screen
    here = tmp_path / "here"
    here.mkdir()
    terminal = Terminal(
        ["get", out.decode().strip()],
        cli_env(OTS_SERVER=roomy_server.base_url),
        stdout_tty=True,
        cwd=here,
    )
    try:
        terminal.expect(b"Reveal it now?")
        terminal.type(b"y\n")
        terminal.expect(b"a hidden file. Keep the leading dot?")
        terminal.type(answer)
        assert terminal.finish(timeout=60) == 0, terminal.screen
    finally:
        terminal.close()
    assert [p.name for p in here.iterdir()] == [saved]
    assert (here / saved).read_bytes() == b"TOKEN=abc\n"
