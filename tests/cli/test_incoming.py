"""A received file appears only when complete and never overwrites (ots_cli.local.incoming)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ots_cli.core.filenames import candidates
from ots_cli.errors import TransferLost
from ots_cli.local import incoming as incoming_module
from ots_cli.local.incoming import Incoming


@pytest.fixture(params=["o_tmpfile", "named"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing: the anonymous O_TMPFILE file, and the named fallback."""
    if request.param == "named":
        monkeypatch.setattr(incoming_module, "_O_TMPFILE", 0)
    return str(request.param)


def test_nothing_is_visible_until_published(tmp_path: Path, mode: str) -> None:
    receiving = Incoming(tmp_path)
    receiving.write_all([b"part one, ", b"part two"])
    visible = list(tmp_path.iterdir())
    if mode == "o_tmpfile":
        assert visible == []
    else:  # the fallback: one hidden, private temporary file
        assert [p.name.startswith(".ots-") and p.name.endswith(".part") for p in visible] == [True]
        assert stat.S_IMODE(visible[0].stat().st_mode) == 0o600
    path = receiving.publish(["secret.txt"])
    assert path == tmp_path / "secret.txt"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.txt"]
    assert path.read_bytes() == b"part one, part two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert receiving.size == len(b"part one, part two")


def test_publish_never_overwrites_a_file_or_follows_a_symlink(tmp_path: Path, mode: str) -> None:
    (tmp_path / "a.txt").write_bytes(b"mine")
    outside = tmp_path / "outside"
    (tmp_path / "a (1).txt").symlink_to(outside)
    receiving = Incoming(tmp_path)
    receiving.write_all([b"theirs"])
    path = receiving.publish(candidates("a.txt"))
    assert path.name == "a (2).txt"
    assert path.read_bytes() == b"theirs"
    assert (tmp_path / "a.txt").read_bytes() == b"mine"
    assert not outside.exists()


def test_replace_swaps_the_file_in_one_step(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    receiving = Incoming(tmp_path)
    receiving.write_all([b"new"])
    receiving.replace("out.bin")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_discard_leaves_nothing(tmp_path: Path, mode: str) -> None:
    receiving = Incoming(tmp_path)
    receiving.write_all([b"x" * 100_000])
    receiving.discard()
    receiving.discard()  # idempotent
    assert list(tmp_path.iterdir()) == []


def test_no_free_name_is_a_lost_transfer(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"")
    receiving = Incoming(tmp_path)
    receiving.write_all([b"data"])
    with pytest.raises(TransferLost, match="no free file name"):
        receiving.publish(["taken"])
    receiving.discard()
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_directory_that_cannot_be_written_is_refused_up_front(tmp_path: Path) -> None:
    from ots_cli.errors import UsageError

    with pytest.raises(UsageError, match="cannot write in"):
        Incoming(tmp_path / "missing")


def test_a_write_that_fails_halfway_is_a_lost_transfer_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    # A real failing write: the process may not grow a file past 64 KiB (EFBIG, as a full disk
    # gives ENOSPC), in a child so the limit does not touch the test runner.
    script = """
import resource, signal, sys
from pathlib import Path
from ots_cli.errors import TransferLost
from ots_cli.local.incoming import Incoming

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
receiving = Incoming(Path(sys.argv[1]))
try:
    receiving.write_all([b"x" * 65536] * 4)
except TransferLost as error:
    print(error.message)
finally:
    receiving.discard()
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    assert "consumed on the server and is lost" in result.stdout
    assert "File too large" in result.stdout
    assert list(tmp_path.iterdir()) == []
