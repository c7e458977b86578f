"""Start-up benchmark of the ots CLI, in one hyperfine run (see bench/README.md).

Starts a local ``ots-server`` on SQLite (a free 127.0.0.1 port, a temporary data directory),
then times, in one hyperfine invocation (each command's runs back to back):

- ``python -c pass`` and ``ots --version`` (target: at most 1.5x);
- ``ots share FILE`` and ``ots get LINK`` against the server, and the same requests made by
  bench/baseline_client.py, a minimal argparse + httpx + PyNaCl script (target: at most 1.3x).

``get`` reads one link shared with 10000 views, so every run does the same peek + reveal +
decrypt without consuming the secret. Usage::

    python -m bench.startup [--runs N] [--warmup N]

Needs ``hyperfine`` on PATH. Writes bench/out/startup.json (hyperfine's export) and prints the
ratios. The server and every temporary file are removed at the end. Exit status: 0 when every
target is met, 1 when one is missed, 2 when something could not be measured (a command that
fails makes hyperfine stop: the message names it, and no export is left behind).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.procs import Proc, Processes, free_port, wait_http

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TARGETS = {"version": 1.5, "share": 1.3, "get": 1.3}
#: hyperfine's command names, in the order it runs them; bench/compare.py expects every one.
COMMANDS = (
    "python -c pass",
    "ots --version",
    "baseline share",
    "ots share",
    "baseline get",
    "ots get",
    "lean baseline share",
    "lean baseline get",
)


def start_server(procs: Processes, data_dir: Path) -> Proc:
    """``ots-server serve`` on SQLite in ``data_dir``, ready to answer."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OTS_DATA_DIR": str(data_dir),
        "OTS_RATE_LIMIT_PER_MINUTE": "0",
        "OTS_MAX_VIEWS": "10000",
        "OTS_LOG_LEVEL": "warning",
    }
    argv = [str(BIN / "ots-server"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start("ots-server", argv, env, port)
    wait_http(proc, "/readyz", timeout=20)
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        print("bench.startup: hyperfine is not installed (apt-get install hyperfine)",
              file=sys.stderr)  # fmt: skip
        return 2

    # An installed ots has its byte-code compiled; an editable checkout may not (and with
    # PYTHONDONTWRITEBYTECODE set nothing is cached), which would time the compiler instead.
    import compileall

    import ots_cli

    compileall.compile_dir(Path(ots_cli.__file__).parent, quiet=1)
    work = Path(tempfile.mkdtemp(prefix="ots-bench-"))
    procs = Processes(work)
    url = start_server(procs, work / "server").url
    try:
        # Local state goes to temporary XDG directories rather than OTS_CONFIG_DIR, so ots
        # resolves its paths with platformdirs exactly as it does for a user.
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_DATA_HOME": str(work / "data"),
            "OTS_SERVER": url,
        }
        for name in ("CI", "OTS_CONFIG_DIR"):
            env.pop(name, None)
        secret = work / "secret.txt"
        secret.write_bytes(b"correct horse battery staple")
        link = subprocess.run(
            [str(BIN / "ots"), "share", "--views", "10000", str(secret)],
            env=env, check=True, capture_output=True,
        ).stdout.decode().strip()  # fmt: skip
        python, ots, baseline = sys.executable, str(BIN / "ots"), str(HERE / "baseline_client.py")
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "ots --version": [ots, "--version"],
            "baseline share": [python, baseline, "share", "--server", url, str(secret)],
            "ots share": [ots, "share", str(secret)],
            "baseline get": [python, baseline, "get", link],
            "ots get": [ots, "get", link],
            "lean baseline share": [
                *(python, baseline, "--lean", "share", "--server", url, str(secret))
            ],
            "lean baseline get": [python, baseline, "--lean", "get", link],
        }
        assert tuple(commands) == COMMANDS
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        export = out / "startup.json"
        export.unlink(missing_ok=True)
        hyperfine = ["hyperfine", "-N", "--warmup", str(args.warmup), "--runs", str(args.runs),
                     "--export-json", str(export)]  # fmt: skip
        for name, argv in commands.items():
            hyperfine += ["--command-name", name, shlex.join(argv)]
        if subprocess.run(hyperfine, env=env).returncode != 0:
            export.unlink(missing_ok=True)
            print("bench.startup: hyperfine failed (a command above exited non-zero)",
                  file=sys.stderr)  # fmt: skip
            return 2
        results = {r["command"]: r for r in json.loads(export.read_text())["results"]}
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    def mean(name: str) -> float:
        return float(results[name]["mean"]) * 1000

    rows = [
        ("version", "ots --version", "python -c pass"),
        ("share", "ots share", "baseline share"),
        ("get", "ots get", "baseline get"),
    ]
    # Not a target: the same comparison against a baseline that also skips httpx's CLI module.
    informative = [
        ("share*", "ots share", "lean baseline share"),
        ("get*", "ots get", "lean baseline get"),
    ]
    print(f"\n{'':8}{'ots (ms)':>10}{'reference (ms)':>16}{'ratio':>8}{'target':>8}")
    missed = 0
    for key, ours, reference in rows:
        ratio = mean(ours) / mean(reference)
        ok = ratio <= TARGETS[key]
        missed += not ok
        print(f"{key:8}{mean(ours):10.1f}{mean(reference):16.1f}{ratio:8.2f}"
              f"{'<= ' + str(TARGETS[key]):>8} {'ok' if ok else 'MISSED'}")  # fmt: skip
    for key, ours, reference in informative:
        ratio = mean(ours) / mean(reference)
        print(f"{key:8}{mean(ours):10.1f}{mean(reference):16.1f}{ratio:8.2f}{'-':>8} (info)")
    print("* against a baseline that, like ots, does not import httpx's own CLI module")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
