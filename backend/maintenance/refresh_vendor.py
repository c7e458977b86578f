#!/usr/bin/env python3
"""Refresh the browser libraries vendored into ``backend/ots_server/web/vendor/`` (served by the
pages) and ``tests/web/vendor/`` (loaded by the browser tests only).

For each pinned npm package: ``npm pack NAME@VERSION`` (the registry's tarball, unchanged),
check the tarball against the integrity hash the registry publishes (``npm view … dist.integrity``,
SHA-512), copy the listed files and the licence unchanged, and record each copied file's
SHA-384 in ``vendor.json``. ``tests/web/test_vendor.py`` checks the vendored bytes against
that record on every test run. To move to a new version, change ``PINS`` and run this script
(it needs ``npm`` and the npm registry); review the diff like any other code.

Usage: python backend/maintenance/refresh_vendor.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "backend" / "ots_server" / "web" / "vendor"
#: Libraries the tests load into the page (never served by ots-server).
TEST_VENDOR = ROOT / "tests" / "web" / "vendor"

#: npm package -> (exact version, files taken from the package, relative to ``package/``).
#: The UMD builds are used: they load as classic scripts (no import map, which the page's CSP
#: would refuse inline), set ``globalThis.libsodium`` / ``globalThis.sodium``, and work in a
#: Worker through ``importScripts``. The sumo build is the one with Argon2id.
PINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "libsodium-sumo": ("0.8.4", ("dist/modules-sumo/libsodium-sumo.js", "LICENSE")),
    "libsodium-wrappers-sumo": (
        "0.8.4",
        ("dist/modules-sumo/libsodium-wrappers.js", "LICENSE"),
    ),
    # The result page's QR code of the link. The package ships no LICENSE file: its MIT notice
    # is the header of qrcode.js itself (LICENCE_IN below), which is served unchanged.
    "qrcode-generator": ("2.0.4", ("dist/qrcode.js",)),
}
#: Packages whose licence notice is in one of their files rather than a LICENSE file.
LICENCE_IN: dict[str, str] = {"qrcode-generator": "qrcode.js"}
TEST_PINS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Accessibility checks in the browser tests (tests/web/test_accessibility.py).
    "axe-core": ("4.14.1", ("axe.min.js", "LICENSE")),
}


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """A Subresource Integrity value (``sha384-…``) for ``data``."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def npm(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["npm", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def refresh(pins: dict[str, tuple[str, tuple[str, ...]]], vendor: Path) -> dict[str, object]:
    record: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, (version, files) in pins.items():
            spec = f"{name}@{version}"
            published = npm("view", spec, "dist.integrity", cwd=work)
            tarball = work / npm("pack", spec, "--silent", cwd=work).splitlines()[-1]
            got = sri(tarball.read_bytes(), "sha512")
            if got != published:
                sys.exit(f"{spec}: tarball integrity {got} != registry's {published}")
            target = vendor / f"{name}-{version}"
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            entries: dict[str, str] = {}
            with tarfile.open(tarball) as tar:
                for member in files:
                    source = tar.extractfile(f"package/{member}")
                    if source is None:
                        sys.exit(f"{spec}: {member} is not a file in the tarball")
                    data = source.read()
                    out = target / Path(member).name
                    out.write_bytes(data)
                    entries[out.name] = sri(data)
            record[name] = {"version": version, "npm_integrity": published, "files": entries}
            if name in LICENCE_IN:
                record[name]["licence_file"] = LICENCE_IN[name]
    (vendor / "vendor.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


if __name__ == "__main__":
    for pins, vendor in ((PINS, VENDOR), (TEST_PINS, TEST_VENDOR)):
        for name, entry in refresh(pins, vendor).items():
            print(name, entry["version"])  # type: ignore[index]
