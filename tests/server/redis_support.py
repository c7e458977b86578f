"""Real Redis servers for the tests: the machine's own on 127.0.0.1:6379 (shared: every test
uses its own key prefix and deletes only its own keys, never FLUSHALL), and redis-server
processes the tests own (free ports on 127.0.0.1, a temporary directory each, killed in
teardown), alone or formed into a three-primary Cluster with ``redis-cli --cluster create``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from processes import free_port
from redis.cluster import RedisCluster

MACHINE_HOST, MACHINE_PORT = "127.0.0.1", 6379
START_TIMEOUT = 20.0


def unique_prefix(label: str = "t") -> str:
    """A key prefix no other test (or concurrent test run) uses."""
    return f"ots-test-{label}-{os.getpid()}-{secrets.token_hex(6)}"


def machine_url(prefix: str, *, options: str = "") -> str:
    extra = f"&{options}" if options else ""
    return f"redis://{MACHINE_HOST}:{MACHINE_PORT}/0?prefix={prefix}{extra}"


def machine_client() -> redis.Redis:
    return redis.Redis(host=MACHINE_HOST, port=MACHINE_PORT, socket_timeout=5)


def require_machine_redis() -> None:
    """Fail (not skip) with a clear message when the machine's Redis is not running."""
    try:
        with machine_client() as client:
            client.ping()
    except redis.RedisError as exc:
        raise RuntimeError(
            f"these tests need a Redis server on {MACHINE_HOST}:{MACHINE_PORT} "
            "(apt-get install redis-server; .ci/run starts one)"
        ) from exc


def delete_prefix(client: redis.Redis | RedisCluster, prefix: str) -> int:
    """Delete every key under ``prefix`` (and only those); return how many."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for key in keys:
        client.delete(key)
    return len(keys)


def keys_with_ttls(client: redis.Redis | RedisCluster, prefix: str) -> dict[bytes, int]:
    return {key: int(client.ttl(key)) for key in client.scan_iter(match=f"{prefix}:*")}


def _port_pair() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


@dataclass
class RedisServer:
    """One ``redis-server`` owned by a test: a free port, a directory, extra config."""

    directory: Path
    config: Sequence[str] = ()
    cluster: bool = False
    #: Extra environment of the process (e.g. LD_PRELOAD of the power-cut shim).
    env: dict[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    #: (certificate, key, CA) to serve TLS only, on ``port``.
    tls: tuple[Path, Path, Path] | None = None
    #: Run as a Sentinel watching the primary ``mymaster`` on this port.
    sentinel_of: int | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, prefix: str, *, options: str = "") -> str:
        extra = f"&{options}" if options else ""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0?prefix={prefix}{extra}"

    def client(self) -> redis.Redis:
        tls: dict[str, Any] = {}
        if self.tls:
            tls = {"ssl": True, "ssl_ca_certs": str(self.tls[2]), "ssl_check_hostname": False}
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=5, **tls
        )

    def start(self) -> None:
        """Start (or restart, on the same port and directory, replaying its files)."""
        assert self.process is None
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = _port_pair() if self.cluster else free_port()
        args = ["redis-server"]
        if self.sentinel_of is not None:
            conf = self.directory / "sentinel.conf"  # a Sentinel rewrites its own file
            conf.write_text(f"sentinel monitor mymaster 127.0.0.1 {self.sentinel_of} 1\n")
            args += [str(conf), "--sentinel"]
        args += [
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            *("--daemonize", "no", "--logfile", str(self.directory / "redis.log")),
        ]
        if self.sentinel_of is None:
            args += ["--save", "", "--appendonly", "no"]
        if self.tls:
            cert, key, ca = self.tls
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
            args += ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
            args += ["--tls-ca-cert-file", str(ca)]
        if self.password:
            args += ["--requirepass", self.password]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            args += ["--cluster-node-timeout", "3000"]
        args += list(self.config)
        self.process = subprocess.Popen(
            args,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError("redis-server exited:\n" + self.log())
                with contextlib.suppress(redis.RedisError):
                    if client.ping():
                        return
                time.sleep(0.02)
        raise RuntimeError("redis-server did not answer:\n" + self.log())

    def signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed that was not flushed already."""
        if self.process is None:
            return
        self.signal(signal.SIGCONT)  # a stopped process must not outlive the test either
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@contextlib.contextmanager
def redis_server(directory: Path, config: Sequence[str] = ()) -> Iterator[RedisServer]:
    server = RedisServer(directory, config)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@dataclass
class LocalCluster:
    nodes: list[RedisServer]

    @property
    def seeds(self) -> str:
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def url(self, prefix: str) -> str:
        return f"redis+cluster://{self.seeds}?prefix={prefix}"

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port, socket_timeout=5)


def _cluster_ok(node: RedisServer) -> bool:
    with node.client() as client:
        info = client.execute_command("CLUSTER", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


@contextlib.contextmanager
def local_cluster(directory: Path, size: int = 3) -> Iterator[LocalCluster]:
    """``size`` primaries, no replicas, all slots covered; every process killed at the end."""
    nodes = [RedisServer(directory / f"node{i}", cluster=True) for i in range(size)]
    try:
        for node in nodes:
            node.start()
        cluster = LocalCluster(nodes)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *cluster.seeds.split(","),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not all(_cluster_ok(node) for node in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not converge")
            time.sleep(0.05)
        yield cluster
    finally:
        for node in nodes:
            node.kill()
