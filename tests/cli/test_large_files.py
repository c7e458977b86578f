"""Files of any size through the real ``ots`` console script and a real ``ots-server serve``.

Issue #8. Every test runs ``.venv/bin/ots`` as a subprocess against uvicorn on 127.0.0.1
(SQLite, ``OTS_MAX_BYTES`` raised to 2 GiB) and compares what comes out with what went in by
SHA-256:

- ``ots share FILE`` + ``ots get LINK -o OUT`` at 0 B, 1 B, one chunk (64 KiB), one chunk + 1
  and 300 MiB; the suite follows from the padded size alone (suite 1 up to 64 KiB of padded
  plaintext, docs/FORMAT.md "Choosing a suite"), told from ``ots --json peek`` (the blob size a
  suite gives for a padded length);
- the same sizes through pipes (``cat FILE | ots share``, ``ots get LINK | sha256``): up to
  64 KiB held in memory (no temporary file at all), beyond that spooled; the same suites;
  the spool in the CLI's private ``TMPDIR`` never has a name there and holds no plaintext;
- peak resident memory for 1 GiB: ``ots share FILE`` and ``ots get -o`` (the kernel's
  ``ru_maxrss`` from ``wait4`` in a small wrapper: exact, not sampled) and the server
  (``VmHWM``) stay under 100 MiB each;
- a server SIGKILLed mid-download: exit 12 with one error and its hints on stderr; on a pipe
  the bytes already written are a true prefix, with ``-o`` no file or part file is left; and
  the secret really is gone after a restart;
- a CLI SIGKILLed mid-upload: the server keeps no row and no file, also after a restart.

Every process a test starts is stopped by that test (``finally``); every wait is bounded.
Large inputs are deleted by the test that made them, so pytest's kept temporary directories
do not fill the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from processes import ServerProcess, start_server

from bench.procs import group_peak_rss

from .support import cli_env

MIB = 1 << 20
CHUNK = 64 * 1024
#: Header bytes of a blob without a passphrase (docs/FORMAT.md, Header).
HEADER_LENGTH = 55
BIG = {"OTS_MAX_BYTES": "2GiB", "OTS_UPLOAD_TIMEOUT": "600"}
OTS = str(Path(sys.executable).parent / "ots")
#: Bound of one CLI run; the 1 GiB runs take about 15 s on 2 cores.
RUN_TIMEOUT = 300.0
LOST = "ots: error: the download was cut off after the server released the secret: the data is gone"

SIZES = [
    pytest.param(0, id="0B"),
    pytest.param(1, id="1B"),
    pytest.param(CHUNK, id="one-chunk"),
    pytest.param(CHUNK + 1, id="one-chunk-plus-1"),
    pytest.param(300 * MIB, id="300MiB", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the round trips, with the size limit raised (overrides conftest's)."""
    process = start_server(tmp_path_factory.mktemp("server"), **BIG)
    try:
        yield process
    finally:
        process.stop()


# -- helpers ------------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes; its SHA-256 (hex).

    Past 1 MiB every MiB is one random block behind its own counter: distinct, and much
    cheaper to make than ``urandom`` for every byte."""
    digest = hashlib.sha256()
    block = os.urandom(min(size, MIB))
    with path.open("wb") as out:
        if size <= MIB:
            out.write(block)
            digest.update(block)
            return digest.hexdigest()
        for index in range(0, size, MIB):
            piece = (index.to_bytes(8, "big") + block[8:])[: size - index]
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def env_for(server: ServerProcess, tmpdir: Path) -> dict[str, str]:
    """The CLI's environment: this server, and a private TMPDIR the test can watch."""
    tmpdir.mkdir(exist_ok=True)
    return cli_env(OTS_SERVER=server.base_url, TMPDIR=str(tmpdir))


def ots(
    argv: list[str], env: dict[str, str], stdin: int | IO[bytes] = subprocess.DEVNULL
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [OTS, *argv], stdin=stdin, capture_output=True, env=env, timeout=RUN_TIMEOUT
    )


def share_file(path: Path, env: dict[str, str]) -> str:
    shared = ots(["share", "--allow-empty", str(path)], env)
    # stderr is not a terminal: no progress bar, nothing at all.
    assert (shared.returncode, shared.stderr) == (0, b""), shared.stderr
    return shared.stdout.decode().strip()


def suite_of(link: str, env: dict[str, str]) -> int:
    """The blob's suite, from the sizes ``ots --json peek`` shows (docs/FORMAT.md): suite 1
    adds one 16-byte tag to the padded plaintext, suite 2 adds 17 bytes per 64 KiB chunk."""
    peeked = ots(["--json", "peek", link], env)
    assert peeked.returncode == 0, peeked.stderr
    info: dict[str, Any] = json.loads(peeked.stdout)
    padded, size = info["padded_length"], info["size"]
    overhead = size - HEADER_LENGTH - padded
    if overhead == 16:
        return 1
    assert overhead == 17 * max(1, -(-padded // CHUNK)), info
    return 2


def suite_by_size(size: int) -> int:
    """The suite of a secret of ``size`` bytes among SIZES, file or text alike: suite 1 while
    envelope + body pad to at most 64 KiB (docs/FORMAT.md, "Choosing a suite")."""
    return 1 if size < CHUNK - 1024 else 2


def blob_files(server: ServerProcess) -> list[str]:
    return sorted(os.listdir(server.db_path.with_name(server.db_path.name + ".blobs")))


def stored_rows(server: ServerProcess) -> tuple[int, int]:
    conn = sqlite3.connect(server.db_path)
    try:
        records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        secrets = conn.execute("SELECT count(*) FROM secrets").fetchone()[0]
    finally:
        conn.close()
    return records, secrets


def open_files_under(pid: int, directory: Path) -> list[Path]:
    """``/proc/PID/fd`` entries of ``pid`` whose file lies in ``directory`` (named or not)."""
    found = []
    prefix = f"{directory}/"
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for entry in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(entry).startswith(prefix):
                    found.append(entry)
    return found


def kill_group(server: ServerProcess) -> None:
    """SIGKILL the server and every worker of its process group; reap it."""
    server.kill()


def read_at_least(fd: int, size: int, timeout: float) -> bytes:
    """At least ``size`` bytes from the pipe ``fd`` (fewer only at its end), within ``timeout``."""
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    got = 0
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {got} bytes arrived in {timeout} s")
        if not select.select([fd], [], [], left)[0]:
            continue
        data = os.read(fd, min(MIB, size - got))
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def stderr_lines(text: bytes) -> list[str]:
    return text.decode("utf-8").splitlines()


def assert_only_the_loss_reported(stderr: bytes) -> None:
    """One error line saying the data is gone, then hints; no traceback, no progress bar."""
    first, *rest = stderr_lines(stderr)
    assert first == LOST, stderr
    assert rest, stderr
    assert all(line.startswith("ots: hint: ") for line in rest), stderr
    assert any("this view is used up" in line for line in rest), stderr


@dataclass
class Watched:
    """What a test saw in a directory while a CLI process ran."""

    names: set[str] = field(default_factory=set)  # ever listed in the directory
    open_files: int = 0  # polls that found the process holding a file in it
    sample: bytes = b""  # the start of such a file, read through /proc


def watch_until_exit(process: subprocess.Popen[bytes], directory: Path, timeout: float) -> Watched:
    """Poll ``directory`` and the files ``process`` holds open in it until ``process`` ends."""
    watched = Watched()
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"the CLI did not finish in {timeout} s")
        watched.names.update(os.listdir(directory))
        held = open_files_under(process.pid, directory)
        watched.open_files += bool(held)
        for entry in held:
            if len(watched.sample) < 4 * CHUNK:
                with contextlib.suppress(OSError), entry.open("rb") as spool:
                    watched.sample = max(watched.sample, spool.read(4 * CHUNK), key=len)
        time.sleep(0.01)  # polling another process; there is no event to wait for
    return watched


#: ``python -c RSS_WRAPPER FILE ARGV...`` runs ARGV as its child and writes the child's peak RSS
#: (KiB, the kernel's ``ru_maxrss`` from ``wait4``: exact, not sampled) to FILE. The CLI must not
#: be a direct child of the test: at ``exec`` the kernel folds the high-water mark of the address
#: space the child was forked from into its ``ru_maxrss``, so a direct child would report at
#: least the test process's own peak (about 85 MiB of pytest here); this wrapper holds 4 MiB.
RSS_WRAPPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured_run(argv: list[str], env: dict[str, str], work: Path) -> tuple[bytes, int]:
    """Run ``ots ARGV`` (it must succeed); its stdout and its peak RSS in bytes."""
    out_path, err_path, rss_path = work / "stdout", work / "stderr", work / "rss"
    wrapper = [sys.executable, "-I", "-S", "-c", RSS_WRAPPER, str(rss_path), OTS, *argv]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            wrapper,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,  # on a timeout, the wrapper and the CLI go together
        )
    try:
        process.wait(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err_path.read_bytes()
    return out_path.read_bytes(), int(rss_path.read_text()) * 1024


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_file_round_trips_through_share_file_and_get_o(
    server: ServerProcess, tmp_path: Path, size: int
) -> None:
    source = tmp_path / "source.bin"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    received = downloads / "received.bin"
    try:
        digest = make_file(source, size)
        env = env_for(server, tmp_path / "cli-tmp")
        link = share_file(source, env)
        assert suite_of(link, env) == suite_by_size(size)
        got = ots(["get", link, "-o", str(received)], env)
        assert got.returncode == 0, got.stderr
        [note] = stderr_lines(got.stderr)  # the one note, no progress bar off a terminal
        assert note.startswith("ots: note: wrote "), note
        assert os.listdir(downloads) == ["received.bin"]  # no part file left beside it
        assert (received.stat().st_size, sha256_of(received)) == (size, digest)
        assert stat.S_IMODE(received.stat().st_mode) == 0o600
        assert os.listdir(tmp_path / "cli-tmp") == []
        assert blob_files(server) == []  # the one view was read: the server kept nothing
    finally:
        source.unlink(missing_ok=True)
        received.unlink(missing_ok=True)


@pytest.mark.parametrize("size", SIZES)
def test_a_stream_round_trips_through_pipes(
    server: ServerProcess, tmp_path: Path, size: int
) -> None:
    source = tmp_path / "source.bin"
    cli_tmp = tmp_path / "cli-tmp"
    try:
        digest = make_file(source, size)
        env = env_for(server, cli_tmp)
        cat = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)
        assert cat.stdout is not None
        try:
            share = subprocess.Popen(
                [OTS, "share", "--allow-empty"],
                stdin=cat.stdout,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            cat.stdout.close()  # the pipe's read end now belongs to ots alone
            watched = watch_until_exit(share, cli_tmp, RUN_TIMEOUT)
            out, err = share.communicate(timeout=10)
        finally:
            cat.wait(timeout=10)
        assert (share.returncode, err) == (0, b""), err
        link = out.decode().strip()

        # The spool is anonymous: never a name in TMPDIR, nothing left after the share.
        assert watched.names == set()
        assert os.listdir(cli_tmp) == []
        if size <= CHUNK:
            assert watched.open_files == 0  # held in memory: no temporary file at all
        assert suite_of(link, env) == suite_by_size(size)  # as for a file of the same size
        if size >= MIB:
            # Long enough to be seen: the spool lives in TMPDIR and holds only ciphertext.
            assert watched.open_files > 0
            assert len(watched.sample) >= CHUNK
            with source.open("rb") as plain:
                head = plain.read(2 * CHUNK)
            for offset in (0, 4096, CHUNK + 17):
                assert head[offset : offset + 64] not in watched.sample

        with (tmp_path / "get.err").open("wb") as err_file:
            get = subprocess.Popen(
                [OTS, "get", link],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err_file,
                env=env,
            )
        assert get.stdout is not None
        received = hashlib.sha256()
        length = 0
        try:
            while data := read_at_least(get.stdout.fileno(), MIB, RUN_TIMEOUT):
                received.update(data)
                length += len(data)
            get.wait(timeout=30)
        finally:
            if get.poll() is None:
                get.kill()
                get.wait()
            get.stdout.close()
        assert (get.returncode, (tmp_path / "get.err").read_bytes()) == (0, b"")
        assert (length, received.hexdigest()) == (size, digest)
        assert blob_files(server) == []
    finally:
        source.unlink(missing_ok=True)


# -- memory -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_flat_for_a_1_gib_share_and_get(tmp_path: Path) -> None:
    size = 1024 * MIB
    source = tmp_path / "source.bin"
    received = tmp_path / "received.bin"
    # A server of its own, so its high-water mark is this test's alone.
    server = start_server(tmp_path / "server", **BIG)
    try:
        digest = make_file(source, size)
        env = env_for(server, tmp_path / "cli-tmp")
        out, share_peak = measured_run(["share", str(source)], env, tmp_path)
        link = out.decode().strip()
        _, get_peak = measured_run(["get", link, "-o", str(received)], env, tmp_path)
        server_peak = group_peak_rss(server.pid)
        assert (received.stat().st_size, sha256_of(received)) == (size, digest)
        print(
            f"\npeak RSS for 1 GiB: ots share FILE {share_peak / MIB:.1f} MiB, "
            f"ots get -o {get_peak / MIB:.1f} MiB, server {server_peak / MIB:.1f} MiB"
        )
        # The CLI was measured, not its 4 MiB wrapper; the server's processes were found.
        assert min(share_peak, get_peak, server_peak) > 15 * MIB
        assert share_peak < 100 * MIB, share_peak
        assert get_peak < 100 * MIB, get_peak
        assert server_peak < 100 * MIB, server_peak
    finally:
        server.stop()
        source.unlink(missing_ok=True)
        received.unlink(missing_ok=True)


# -- cut off ------------------------------------------------------------------------------------


def test_a_server_killed_mid_download_to_a_pipe_exits_12(tmp_path: Path) -> None:
    size = 64 * MIB
    source = tmp_path / "source.bin"
    data_dir = tmp_path / "server"
    server = start_server(data_dir, **BIG)
    restarted: ServerProcess | None = None
    try:
        make_file(source, size)
        env = env_for(server, tmp_path / "cli-tmp")
        link = share_file(source, env)
        with (tmp_path / "get.err").open("wb") as err_file:
            get = subprocess.Popen(
                [OTS, "get", link],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err_file,
                env=env,
            )
        assert get.stdout is not None
        try:
            # Read 2 MiB, then stop reading: the CLI blocks writing stdout, the server blocks
            # once the socket buffers (at most tcp_rmem + tcp_wmem, ~36 MiB here) are full.
            head = read_at_least(get.stdout.fileno(), 2 * MIB, 60)
            kill_group(server)
            rest = read_at_least(get.stdout.fileno(), size, 60)
            get.wait(timeout=30)
        finally:
            if get.poll() is None:
                get.kill()
                get.wait()
            get.stdout.close()
        assert get.returncode == 12
        assert_only_the_loss_reported((tmp_path / "get.err").read_bytes())
        received = head + rest
        assert 2 * MIB <= len(received) < size  # cut off, and not at the start
        with source.open("rb") as plain:
            # What reached the pipe was authenticated: a true prefix of the secret.
            assert received == plain.read(len(received))

        # "The data is gone" is true: after a restart the secret is consumed, no blob is left.
        restarted = start_server(data_dir, **BIG)
        bare = link.rsplit("/", 1)[1]  # the restarted server listens on another port
        again = ots(["get", "--", bare], cli_env(OTS_SERVER=restarted.base_url))
        assert again.returncode == 6, again.stderr
        assert again.stdout == b""
        assert blob_files(restarted) == []
    finally:
        server.stop()
        if restarted is not None:
            restarted.stop()


def test_a_server_killed_mid_download_to_a_file_exits_12_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    size = 64 * MIB
    source = tmp_path / "source.bin"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    target = downloads / "secret.bin"
    server = start_server(tmp_path / "server", **BIG)
    try:
        make_file(source, size)
        env = env_for(server, tmp_path / "cli-tmp")
        link = share_file(source, env)
        with (tmp_path / "get.err").open("wb") as err_file:
            get = subprocess.Popen(
                [OTS, "get", link, "-o", str(target)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err_file,
                env=env,
            )
        try:
            # Until 4 MiB of the secret are in the anonymous file being received (the only
            # file the CLI holds in the directory besides the empty placeholder at the name).
            deadline = time.monotonic() + 60
            written = 0
            while written < 4 * MIB:
                assert get.poll() is None, "the download ended before it could be cut off"
                assert time.monotonic() < deadline, "the download did not start in 60 s"
                # Nothing of the secret is visible by name while it arrives.
                assert os.listdir(downloads) in ([], ["secret.bin"])
                assert not target.exists() or target.stat().st_size == 0
                for entry in open_files_under(get.pid, downloads):
                    with contextlib.suppress(OSError):
                        if os.readlink(entry) != str(target):
                            written = max(written, entry.stat().st_size)
                time.sleep(0.005)  # polling another process; there is no event to wait for
            # Frozen, the CLI cannot finish the download before the server is gone.
            get.send_signal(signal.SIGSTOP)
            try:
                kill_group(server)
            finally:
                get.send_signal(signal.SIGCONT)
            get.wait(timeout=60)
        finally:
            if get.poll() is None:
                get.kill()
                get.wait()
        assert get.returncode == 12
        assert_only_the_loss_reported((tmp_path / "get.err").read_bytes())
        assert os.listdir(downloads) == []  # neither the file, nor a part, nor the placeholder
    finally:
        server.stop()


def test_a_cli_killed_mid_upload_leaves_nothing_on_the_server(tmp_path: Path) -> None:
    size = 200 * MIB
    source = tmp_path / "source.bin"
    data_dir = tmp_path / "server"
    server = start_server(data_dir, **BIG)
    restarted: ServerProcess | None = None
    blobs = server.db_path.with_name(server.db_path.name + ".blobs")
    try:
        make_file(source, size)
        env = env_for(server, tmp_path / "cli-tmp")
        share = subprocess.Popen(
            [OTS, "share", str(source)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            # Until the server has 8 MiB of the upload in its temp file.
            deadline = time.monotonic() + 60
            staged = 0
            while staged < 8 * MIB:
                assert share.poll() is None, "the upload ended before it could be cut off"
                assert time.monotonic() < deadline, "the upload did not start in 60 s"
                for name in os.listdir(blobs):
                    with contextlib.suppress(FileNotFoundError):
                        staged = max(staged, (blobs / name).stat().st_size)
                time.sleep(0.005)  # polling the server's directory; no event to wait for
            assert [name[:5] for name in os.listdir(blobs)] == [".tmp-"]
            share.kill()
            share.wait(timeout=10)
        finally:
            if share.poll() is None:
                share.kill()
                share.wait()
        assert share.returncode == -signal.SIGKILL

        # The running server notices the connection closing and removes its temp file.
        deadline = time.monotonic() + 20
        while blob_files(server):
            assert time.monotonic() < deadline, blob_files(server)
            time.sleep(0.05)  # polling the server's directory; no event to wait for
        assert stored_rows(server) == (0, 0)
        server.stop()

        restarted = start_server(data_dir, **BIG)
        assert blob_files(restarted) == []
        assert stored_rows(restarted) == (0, 0)
        receipts = Path(os.environ["OTS_CONFIG_DIR"]) / "receipts"
        assert not receipts.exists() or list(receipts.iterdir()) == []  # nothing was shared
    finally:
        server.stop()
        if restarted is not None:
            restarted.stop()
        source.unlink(missing_ok=True)
