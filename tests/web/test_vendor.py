"""The vendored browser libraries are the registry's bytes, unchanged, with their licences, and
the record of their integrity (vendor/vendor.json, written by backend/maintenance/refresh_vendor.py)
matches what is served."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ots_server.web.assets import FILES, Assets

VENDOR = Path(__file__).resolve().parents[2] / "backend" / "ots_server" / "web" / "vendor"
RECORD = json.loads((VENDOR / "vendor.json").read_text())
#: Loaded by the tests only (axe-core), under the same rules.
TEST_VENDOR = Path(__file__).resolve().parent / "vendor"
TEST_RECORD = json.loads((TEST_VENDOR / "vendor.json").read_text())
ALL = [(VENDOR, RECORD, name) for name in sorted(RECORD)] + [
    (TEST_VENDOR, TEST_RECORD, name) for name in sorted(TEST_RECORD)
]
LICENCES = {
    "libsodium-sumo": "Permission to use, copy, modify, and/or distribute",  # ISC
    "libsodium-wrappers-sumo": "Permission to use, copy, modify, and/or distribute",
    "axe-core": "Mozilla Public License, version 2.0",
    # No LICENSE file in the package: the notice heads the served file (vendor.json says which).
    "qrcode-generator": "Licensed under the MIT license",
}


def sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@pytest.mark.parametrize(("vendor", "record", "package"), ALL, ids=[a[2] for a in ALL])
def test_vendored_files_match_the_recorded_integrity(
    vendor: Path, record: dict[str, Any], package: str
) -> None:
    entry = record[package]
    folder = vendor / f"{package}-{entry['version']}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(entry["files"])
    for name, integrity in entry["files"].items():
        assert sha384((folder / name).read_bytes()) == integrity, f"{package}/{name} changed"


@pytest.mark.parametrize(("vendor", "record", "package"), ALL, ids=[a[2] for a in ALL])
def test_every_vendored_package_carries_its_licence(
    vendor: Path, record: dict[str, Any], package: str
) -> None:
    entry = record[package]
    licence_file = entry.get("licence_file", "LICENSE")
    licence = (vendor / f"{package}-{entry['version']}" / licence_file).read_text()
    assert LICENCES[package] in licence
    assert entry["npm_integrity"].startswith("sha512-")


def test_versions_are_pinned_exactly() -> None:
    for entry in [*RECORD.values(), *TEST_RECORD.values()]:
        parts = entry["version"].split(".")
        assert len(parts) == 3
        assert all(p.isdigit() for p in parts)


def test_served_assets_are_the_vendored_bytes_with_their_sri() -> None:
    assets = Assets()
    for name, path in FILES.items():
        if not path.startswith("vendor/"):
            continue
        package_dir, file_name = path.split("/")[1:]
        package = package_dir.rsplit("-", 1)[0]
        assert assets.integrity(name) == RECORD[package]["files"][file_name]
