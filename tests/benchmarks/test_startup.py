"""Start-up cost of the core: importing it loads nothing that only some code paths need.

The CLI imports the core on most commands, so its import time is part of every start
(bench/README.md). Each case runs a fresh interpreter without ``site`` (the editable install's
finder would otherwise load some of these modules itself and hide a regression), with the same
module search path as this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ots_cli

REPOSITORY = Path(ots_cli.__file__).resolve().parents[1]

_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
print(json.dumps(sorted(set(sys.modules) - before)))
"""

# dataclasses (and inspect, which it imports) cost ~4 ms and each frozen dataclass ~0.4 ms
# more; ipaddress is needed only for IPv6 or http links, unicodedata and nacl.pwhash only for
# passphrases; re only for patterns the core does without.
LAZY = {"dataclasses", "inspect", "ipaddress", "unicodedata", "nacl.pwhash", "nacl.pwhash.argon2id"}


def _loaded_by(module: str) -> set[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *filter(None, sys.path)])
    done = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE.format(module=module)],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout)
    return set(loaded)


@pytest.mark.parametrize("module", ["ots_cli.core.crypto", "ots_cli.core.links"])
def test_importing_the_core_loads_nothing_it_can_defer(module: str) -> None:
    loaded = _loaded_by(module)
    assert module in loaded
    assert not loaded & LAZY


def test_the_probe_can_fail() -> None:
    # The same probe sees these modules when something does import them.
    assert {"dataclasses", "ipaddress"} <= _loaded_by("dataclasses, ipaddress")
