"""What the comparison needs besides the project, installed on first use, and their versions.

- wrk, hyperfine, redis-server and redis-cli from the distribution (``apt-get install``, when
  running as root; otherwise the message says what to install).
- SnapPass and gunicorn in their own virtual environment, ``bench/out/venv-snappass``, pinned
  to the versions the published figures were measured with.
- matplotlib (the chart) and py-spy (the profile) in ``bench/out/venv-tools``, so the project's
  own environment gets nothing it does not declare.

``bench/out`` is git-ignored; deleting it starts over.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
SNAPPASS_VENV = OUT / "venv-snappass"
TOOLS_VENV = OUT / "venv-tools"
SNAPPASS_REQUIREMENTS = ["snappass==1.6.2", "gunicorn==27.0.1"]
TOOLS_REQUIREMENTS = ["matplotlib>=3.8", "py-spy>=0.3.14"]
#: Program on PATH -> Debian package that provides it.
APT = {
    "wrk": "wrk",
    "hyperfine": "hyperfine",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
}


def _say(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def ensure_programs() -> None:
    missing = sorted({package for program, package in APT.items() if not shutil.which(program)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"missing programs; install them with: apt-get install {' '.join(missing)}"
        )
    _say(f"apt-get install {' '.join(missing)}")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)
        subprocess.run(install, check=True, capture_output=True)


def _venv(path: Path, requirements: list[str], probe: str) -> Path:
    if not (path / "bin" / probe).exists():
        _say(f"creating {path.relative_to(OUT.parent.parent)} ({', '.join(requirements)})")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run(
            [
                str(path / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            check=True,
        )
    return path


def ensure_all() -> None:
    OUT.mkdir(exist_ok=True)
    ensure_programs()
    _venv(SNAPPASS_VENV, SNAPPASS_REQUIREMENTS, "gunicorn")
    _venv(TOOLS_VENV, TOOLS_REQUIREMENTS, "py-spy")


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else "?"
    )


def _venv_version(venv: Path, name: str) -> str:
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"from importlib.metadata import version; print(version({name!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "?"


def versions() -> dict[str, str]:
    def ours(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    commit = _first_line(["git", "-C", str(OUT.parent.parent), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(OUT.parent.parent), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    redis = re.search(r"v=(\S+)", _first_line(["redis-server", "--version"]))
    wrk = re.search(r"wrk (\S+)", _first_line(["wrk", "--version"]))
    return {
        "ots": f"{ours('ots-cli')} (git {commit}{', uncommitted changes' if dirty else ''})",
        "Python": platform.python_version(),
        "Starlette": ours("starlette"),
        "uvicorn": ours("uvicorn"),
        "h11": ours("h11"),
        "uvloop / httptools": "not installed (uvicorn uses asyncio and h11)"
        if not (_has("uvloop") or _has("httptools"))
        else f"{ours('uvloop')} / {ours('httptools')}",
        "redis-py": ours("redis"),
        "SQLite": sqlite3.sqlite_version,
        "Redis server": redis.group(1) if redis else "?",
        "SnapPass": _venv_version(SNAPPASS_VENV, "snappass"),
        "Flask": _venv_version(SNAPPASS_VENV, "flask"),
        "gunicorn": _venv_version(SNAPPASS_VENV, "gunicorn"),
        "wrk": wrk.group(1) if wrk else "?",
        "hyperfine": _first_line(["hyperfine", "--version"]).replace("hyperfine ", ""),
        "matplotlib": _venv_version(TOOLS_VENV, "matplotlib"),
    }


def _has(module: str) -> bool:
    try:
        metadata.version(module)
    except metadata.PackageNotFoundError:
        return False
    return True


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in (
            "Model name",
            "CPU(s)",
            "Thread(s) per core",
            "Hypervisor vendor",
            "L3 cache",
        ):
            info[key.strip()] = value.strip()
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                info["RAM"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    info["Kernel"] = platform.release()
    return info


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
