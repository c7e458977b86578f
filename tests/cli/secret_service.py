"""A real, private Secret Service: a D-Bus session bus and an unlocked throwaway GNOME Keyring.

:class:`SecretService` starts ``dbus-daemon`` on a socket in a temporary ``XDG_RUNTIME_DIR``,
with a configuration that has no service directories (so nothing is ever auto-started behind
the test's back), then ``gnome-keyring-daemon --foreground --unlock --components=secrets`` in a
temporary ``HOME`` with a throwaway password on stdin (an empty one cannot create the login
collection). It waits until the keyring owns ``org.freedesktop.secrets`` on that bus.
:attr:`SecretService.env` is what a process needs to use it; :meth:`stop` kills both daemons
by process group.

Missing binaries are a failure, not a skip: ``.ci/services`` installs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
SECRETS_NAME = "org.freedesktop.secrets"


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise AssertionError(
            f"{binary} is not installed: the real Secret Service tests need gnome-keyring and "
            "dbus (.ci/services installs them)"
        )
    return path


class SecretService:
    def __init__(self, base: Path) -> None:
        dbus_daemon = _require("dbus-daemon")
        keyring_daemon = _require("gnome-keyring-daemon")
        home, runtime = base / "home", base / "run"
        home.mkdir(parents=True)
        runtime.mkdir(mode=0o700)
        config = base / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=runtime / "bus"))
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
        self.env["XDG_RUNTIME_DIR"] = str(runtime)
        self._processes: list[subprocess.Popen[bytes]] = []
        try:
            bus = self._start(
                [dbus_daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
                stdout=subprocess.PIPE,
            )
            assert bus.stdout is not None
            address = bus.stdout.readline().decode().strip()
            bus.stdout.close()
            if not address:
                raise AssertionError("dbus-daemon did not print its address")
            self.env["DBUS_SESSION_BUS_ADDRESS"] = address
            keyring = self._start(
                [keyring_daemon, "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
            )
            assert keyring.stdin is not None
            keyring.stdin.write(b"throwaway")
            keyring.stdin.close()
            self._wait_for_owner(address, keyring)
        except BaseException:
            self.stop()
            raise

    def _start(
        self, argv: list[str], *, stdin: int | None = None, stdout: int = subprocess.DEVNULL
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv,
            env=self.env,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as a whole in stop()
        )
        self._processes.append(process)
        return process

    def _wait_for_owner(self, address: str, keyring: subprocess.Popen[bytes]) -> None:
        # jeepney (pure-Python D-Bus) comes with keyring's Secret Service backend.
        from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped]
        from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

        bus = DBusAddress(
            "/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus",
        )
        deadline = time.monotonic() + 15
        with open_dbus_connection(bus=address) as connection:
            while time.monotonic() < deadline:
                if keyring.poll() is not None:
                    raise AssertionError(f"gnome-keyring-daemon exited with {keyring.returncode}")
                reply = connection.send_and_get_reply(
                    new_method_call(bus, "NameHasOwner", "s", (SECRETS_NAME,)), timeout=5
                )
                if reply.body[0]:
                    return
                time.sleep(0.02)  # polling another process's start-up: no clock to inject
        raise AssertionError(f"no {SECRETS_NAME} on the private bus after 15 s")

    def stop(self) -> None:
        for process in reversed(self._processes):
            # The group outlives a leader that already exited if it left children behind.
            group = process.pid  # start_new_session: the process leads its own group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
                process.wait(timeout=10)
        self._processes.clear()
