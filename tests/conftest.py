"""Shared test fixtures: no test ever touches the real home, config or keyring.

Every test runs with all ``OTS_*`` variables cleared, ``OTS_CONFIG_DIR`` and ``OTS_DATA_DIR``
pointing at fresh temporary directories, ``CI`` unset (tests that need CI behaviour set it), and
``NO_COLOR`` set so output is plain unless a test asks otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTS_") or name in {"CI", "GITHUB_ACTIONS", "GITHUB_ENV"}:
            monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "ots-config"
    data_dir = tmp_path / "ots-data"
    monkeypatch.setenv("OTS_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("OTS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NO_COLOR", "1")
