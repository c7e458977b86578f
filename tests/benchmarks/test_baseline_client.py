"""The start-up baseline does what ots does for the same input: each opens what the other shares.

bench/startup.py times ``ots share FILE`` / ``ots get LINK`` against bench/baseline_client.py,
which is a fair reference only if it does the same work: the same envelope, padding and suite
for the same file, and a reader for everything ``ots share FILE`` produces. A real
``ots-server`` (uvicorn, SQLite) on 127.0.0.1; the real ``ots`` console script; a small file
(suite 1) and one past 64 KiB padded (suite 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench import baseline_client as baseline
from bench.procs import Processes
from bench.startup import HERE, start_server

BIN = Path(sys.executable).parent
BASELINE = str(HERE / "baseline_client.py")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("baseline")
    procs = Processes(work)
    try:
        yield start_server(procs, work / "server").url
    finally:
        procs.stop_all()


def _run(argv: list[str], env: dict[str, str]) -> bytes:
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _blob_size(link: str) -> tuple[int, int]:
    """(suite, blob size) of a shared secret, from its peek (the proof from the link)."""
    rest, _, key_text = link.partition("#")
    server, _, id_text = rest.rpartition("/s/")
    _, proof = baseline.subkeys(baseline.b64d(id_text), baseline.b64d(key_text))
    answer = httpx.post(
        f"{server}/api/v1/secrets/{id_text}/peek", json={"proof": baseline.b64e(proof)}
    ).json()
    return baseline.b64d(answer["header"])[5], answer["size"]


@pytest.mark.parametrize(
    ("name", "content"),
    [("secret.txt", b"correct horse battery staple"), ("data.bin", os.urandom(200_000))],
)
def test_each_opens_what_the_other_shares(
    server: str, tmp_path: Path, name: str, content: bytes
) -> None:
    env = {**os.environ, "OTS_SERVER": server, "OTS_CONFIG_DIR": str(tmp_path / "config")}
    source = tmp_path / name
    source.write_bytes(content)

    ots_link = _run([str(BIN / "ots"), "share", str(source)], env).decode().strip()
    base_link = (
        _run([sys.executable, BASELINE, "share", "--server", server, str(source)], env)
        .decode()
        .strip()
    )
    # The same input gives the same suite and the same blob size on both sides.
    assert _blob_size(ots_link) == _blob_size(base_link)
    assert _blob_size(ots_link)[0] == (1 if len(content) < 1000 else 2)

    assert _run([sys.executable, BASELINE, "get", ots_link], env) == content
    assert _run([str(BIN / "ots"), "get", base_link], env) == content
