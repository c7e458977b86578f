"""File transfer throughput of ots on 127.0.0.1, in one run (bench/README.md, "File transfer
throughput").

Starts ``ots-server serve`` (SQLite, the default store; ``OTS_MAX_BYTES`` 2 GiB, rate limit off)
in a temporary data directory on a free 127.0.0.1 port, makes one random file (1 GiB by
default), then measures, each the median of ``--runs`` runs:

(a) ``cp FILE COPY``: what this machine's disk and page cache give a plain copy (nothing is
    dropped from the caches; the copy is deleted between runs);
(b) libsodium secretstream (XChaCha20-Poly1305) through PyNaCl's bindings in this Python
    process: encrypt the same number of bytes in 64 KiB chunks, then decrypt them, in memory
    (no associated data; ots adds its 55-byte header to every chunk);
(c) ``ots share FILE`` and (d) ``ots get LINK -o OUT``, in turns (share, get, share, get…, so
    at most one blob is stored); each output is checked against the file by SHA-256.

It prints MB/s (10^6 bytes per second) for each, the ratio of the ots round trip (share + get)
to ``cp`` and to the raw stream (encrypt + decrypt), the CPU seconds ``ots`` (``wait4``) and the
server (``/proc/PID/stat``) spent on each command, and the peak resident memory of
``ots share``, ``ots get`` (the kernel's ``ru_maxrss`` from ``wait4``, in a 4 MiB wrapper: a
direct child would report at least this process's own peak) and of the server (``VmHWM``).

Usage::

    python -m bench.transfer [--size-mib N] [--runs N] [--dir DIR]

Invariants: every process it starts runs in its own process group and is stopped at the end,
also on an error, Ctrl-C or SIGTERM (``finally``, ``atexit``, :mod:`procs`); the temporary
directory (in ``--dir``, default ``$TMPDIR``) is removed. It needs about three times the file
size free there (the file, the server's blob, the received copy).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
)
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)

from bench.procs import (
    Proc,
    Processes,
    free_port,
    group_cpu,
    group_peak_rss,
    stop_on_sigterm,
    wait_http,
)
from bench.tools import machine

BIN = Path(sys.executable).parent
MIB = 1 << 20
CHUNK = 64 * 1024
MB = 1_000_000
#: Bound of one command; a 1 GiB share or get takes about 15 s on 2 cores.
COMMAND_TIMEOUT = 900.0

#: ``python -c RUSAGE_WRAPPER FILE ARGV...`` runs ARGV as its child and writes the child's
#: ``wait4`` usage to FILE: peak RSS (KiB, ``ru_maxrss``) and CPU seconds (user + system). At
#: ``exec`` the kernel folds the high-water mark of the address space a process was forked from
#: into its ``ru_maxrss``: forked from this benchmark (which held 1 GiB of ciphertext for the
#: raw stream), the CLI would report that; forked from this 4 MiB wrapper, it reports its own.
RUSAGE_WRAPPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


class Measured(NamedTuple):
    seconds: float  # wall time
    stdout: bytes
    peak_rss: int  # bytes
    cpu: float  # seconds, user + system


class Failed(Exception):
    """A step of the benchmark failed; the message says which."""


class Children:
    """The one command running at a time, in its own process group, so it can be stopped."""

    def __init__(self) -> None:
        self.current: subprocess.Popen[bytes] | None = None

    def run(self, argv: list[str], env: dict[str, str], work: Path) -> Measured:
        """Run ``argv``; fails on an exit status other than 0."""
        out_path, err_path, usage_path = work / "stdout", work / "stderr", work / "usage"
        wrapper = [sys.executable, "-I", "-S", "-c", RUSAGE_WRAPPER, str(usage_path), *argv]
        with out_path.open("wb") as out, err_path.open("wb") as err:
            began = time.perf_counter()
            self.current = subprocess.Popen(
                wrapper,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        try:
            code = self.current.wait(timeout=COMMAND_TIMEOUT)
            elapsed = time.perf_counter() - began
        finally:
            self.stop()
        if code != 0:
            raise Failed(f"{Path(argv[0]).name} {argv[1]} exited {code}: {err_path.read_text()}")
        peak, cpu = usage_path.read_text().split()
        return Measured(elapsed, out_path.read_bytes(), int(peak) * 1024, float(cpu))

    def stop(self) -> None:
        process, self.current = self.current, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_server(procs: Processes, data_dir: Path) -> Proc:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OTS_DATA_DIR": str(data_dir),
        "OTS_MAX_BYTES": "2GiB",
        "OTS_UPLOAD_TIMEOUT": "900",
        "OTS_RATE_LIMIT_PER_MINUTE": "0",
        "OTS_LOG_LEVEL": "warning",
    }
    argv = [str(BIN / "ots-server"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = procs.start("ots-server", argv, env, port)
    wait_http(server, "/readyz")
    return server


def make_file(path: Path, size: int) -> str:
    """``size`` random bytes (``urandom`` in 1 MiB pieces); the SHA-256 (hex)."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for start in range(0, size, MIB):
            piece = os.urandom(min(MIB, size - start))
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def time_cp(source: Path, work: Path) -> float:
    copy = work / "copy.bin"
    began = time.perf_counter()
    subprocess.run(["cp", str(source), str(copy)], check=True, timeout=COMMAND_TIMEOUT)
    elapsed = time.perf_counter() - began
    copy.unlink()
    return elapsed


def time_raw_stream(size: int) -> tuple[float, float]:
    """Seconds to encrypt ``size`` bytes in 64 KiB chunks, and to decrypt them.

    The timed encryption drops each chunk as ots does once it is sent (keeping 1 GiB would
    time the page faults of fresh memory); an untimed second encryption keeps the chunks the
    decryption reads."""
    key = crypto_secretstream_xchacha20poly1305_keygen()
    plaintext = os.urandom(CHUNK)
    count = -(-size // CHUNK)

    def tag(index: int) -> int:
        return TAG_FINAL if index == count - 1 else TAG_MESSAGE

    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_push(state, key)
    began = time.perf_counter()
    for index in range(count):
        crypto_secretstream_xchacha20poly1305_push(state, plaintext, None, tag(index))
    encrypt = time.perf_counter() - began

    state = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(state, key)
    sealed = [
        crypto_secretstream_xchacha20poly1305_push(state, plaintext, None, tag(index))
        for index in range(count)
    ]
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    began = time.perf_counter()
    for chunk in sealed:
        crypto_secretstream_xchacha20poly1305_pull(state, chunk, None)
    decrypt = time.perf_counter() - began
    return encrypt, decrypt


def file_system(path: Path) -> str:
    """The type of the file system ``path`` is on (the longest matching mount point)."""
    best, kind = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            point = fields[1]
            inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    times = [measure() for _ in range(runs)]
    return statistics.median(times), times


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB [1024]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure [3]")
    parser.add_argument("--dir", type=Path, default=None, help="where to work [$TMPDIR]")
    args = parser.parse_args()
    size = args.size_mib * MIB

    stop_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="ots-transfer-", dir=args.dir))
    (work / "logs").mkdir()
    procs = Processes(work / "logs")
    children = Children()
    try:
        return run(args.runs, size, work, procs, children)
    except KeyboardInterrupt:
        print("interrupted; stopping every process", file=sys.stderr)
        return 130
    except (Failed, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"transfer: {exc}", file=sys.stderr)
        return 2
    finally:
        children.stop()
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def run(runs: int, size: int, work: Path, procs: Processes, children: Children) -> int:
    def say(message: str) -> None:
        print(f"transfer: {message}", file=sys.stderr, flush=True)

    server = start_server(procs, work / "server")
    source = work / "source.bin"
    say(f"making a {size // MIB} MiB random file in {work} ({file_system(work)})")
    digest = make_file(source, size)

    say(f"cp, {runs} runs")
    cp, cp_runs = median_of(runs, lambda: time_cp(source, work))

    say(f"raw secretstream, {runs} runs")
    raw = [time_raw_stream(size) for _ in range(runs)]
    encrypt = statistics.median(t for t, _ in raw)
    decrypt = statistics.median(t for _, t in raw)
    raw_round = statistics.median(e + d for e, d in raw)

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "OTS_SERVER": server.url,
        "OTS_CONFIG_DIR": str(work / "cli-config"),
        # No keyring of the machine is read: ots asks it for an account token.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "TMPDIR": str(work),
    }
    ots = str(BIN / "ots")
    received = work / "received.bin"
    shares: list[Measured] = []
    gets: list[Measured] = []
    server_cpu: dict[str, list[float]] = {"share": [], "get": []}
    for index in range(runs):
        say(f"ots share FILE + ots get LINK -o OUT, run {index + 1} of {runs}")
        before = group_cpu(server.pid)
        shares.append(children.run([ots, "share", str(source)], env, work))
        between = group_cpu(server.pid)
        link = shares[-1].stdout.decode().strip()
        gets.append(children.run([ots, "get", link, "-o", str(received)], env, work))
        server_cpu["share"].append(between - before)
        server_cpu["get"].append(group_cpu(server.pid) - between)
        if sha256_of(received) != digest:
            raise Failed("ots get wrote something else than the shared file")
        received.unlink()
    server_peak = group_peak_rss(server.pid)
    share = statistics.median(m.seconds for m in shares)
    get = statistics.median(m.seconds for m in gets)
    round_trip = statistics.median(s.seconds + g.seconds for s, g in zip(shares, gets, strict=True))

    def rate(seconds: float) -> str:
        return f"{size / seconds / MB:.0f}"

    def runs_of(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    def cpu(measured: list[Measured], server: list[float]) -> str:
        ours = statistics.median(m.cpu for m in measured)
        return f"{ours:.2f} / {statistics.median(server):.2f}"

    info = machine()
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {info.get('Model name', '?')}, "
        f"{info.get('CPU(s)', '?')} vCPU ({info.get('Hypervisor vendor', 'no')} hypervisor), "
        f"{info.get('RAM', '?')} RAM, {file_system(work)}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, PyNaCl {metadata.version('pynacl')}, "
        f"uvicorn {metadata.version('uvicorn')}, {size // MIB} MiB, median of {runs}\n"
    )
    print("| measure | seconds (median) | runs (s) | MB/s | CPU s: ots / server |")
    print("| --- | ---: | --- | ---: | --- |")
    print(f"| (a) `cp FILE COPY` | {cp:.2f} | {runs_of(cp_runs)} | {rate(cp)} | |")
    print(f"| (b) secretstream encrypt | {encrypt:.2f} | | {rate(encrypt)} | |")
    print(f"| (b) secretstream decrypt | {decrypt:.2f} | | {rate(decrypt)} | |")
    print(f"| (b) encrypt + decrypt | {raw_round:.2f} | | {rate(raw_round)} | |")
    print(
        f"| (c) `ots share FILE` | {share:.2f} | {runs_of([m.seconds for m in shares])} "
        f"| {rate(share)} | {cpu(shares, server_cpu['share'])} |"
    )
    print(
        f"| (d) `ots get LINK -o OUT` | {get:.2f} | {runs_of([m.seconds for m in gets])} "
        f"| {rate(get)} | {cpu(gets, server_cpu['get'])} |"
    )
    print(f"| (c + d) ots round trip | {round_trip:.2f} | | {rate(round_trip)} | |")
    print(
        f"\nots round trip / cp: {round_trip / cp:.1f}x the time; "
        f"/ raw secretstream encrypt + decrypt: {round_trip / raw_round:.1f}x"
    )
    share_peak = max(m.peak_rss for m in shares)
    get_peak = max(m.peak_rss for m in gets)
    print(
        f"peak RSS: ots share {share_peak / MIB:.1f} MiB, ots get {get_peak / MIB:.1f} MiB, "
        f"server {server_peak / MIB:.1f} MiB (the largest of the runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
