"""Real Redis servers for tests and benchmarks: one ``redis-server``, or a 3-node Cluster.

Each server runs from Debian's ``redis-server`` on a free loopback port, in its own
directory, with persistence off; tests stop and restart them to play an outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.ports import free_port

__all__ = ["RedisCluster", "RedisServer", "redis_available"]


def redis_available() -> str | None:
    """:return: Why Redis cannot run here (None if ``redis-server`` and ``redis-cli`` exist)."""
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install redis-server)"
    return None


def _wait_answering(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    msg = f"redis-server on port {port} did not answer within {timeout} s"
    raise TimeoutError(msg)


@dataclass
class RedisServer:
    """
    One ``redis-server`` process.

    :param directory: Its working directory (logs, cluster state).
    :param maxmemory: ``maxmemory`` in bytes (0: none).
    :param policy: ``maxmemory-policy``.
    :param cluster: Start it as a Cluster node.
    """

    directory: Path
    maxmemory: int = 0
    policy: str = "volatile-ttl"
    cluster: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """:return: ``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """:return: This server, started and answering."""
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(self.directory / "redis.log"),
            "--maxmemory", str(self.maxmemory),
            "--maxmemory-policy", self.policy,
        ]  # fmt: skip
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_answering(self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL); its data is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cli(self, *args: str) -> str:
        """
        :param args: A ``redis-cli`` command for this server.
        :return: What it printed.
        """
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout

    def used_memory(self) -> int:
        """:return: ``INFO memory``'s ``used_memory``, in bytes."""
        for line in self.cli("INFO", "memory").splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":", 1)[1])
        msg = "INFO memory has no used_memory"
        raise RuntimeError(msg)


def _bus_safe_port() -> int:
    # A Cluster node also listens on its port + 10000 (the cluster bus): the port must leave
    # room for it below 65536, and that bus port must be free too.
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@dataclass
class RedisCluster:
    """
    A real Redis Cluster of three primaries (no replicas), made with
    ``redis-cli --cluster create``.

    :param directory: Where each node gets its own directory.
    """

    directory: Path
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """:return: ``redis+cluster://`` of the first node (the client finds the others)."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> RedisCluster:
        """:return: This cluster, its 16384 slots assigned and its state ok."""
        self.nodes = [
            RedisServer(self.directory / f"node{i}", cluster=True, port=_bus_safe_port()).start()
            for i in range(3)
        ]
        subprocess.run(
            [
                "redis-cli", "--cluster", "create",
                *(f"127.0.0.1:{n.port}" for n in self.nodes),
                "--cluster-replicas", "0", "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        # Every node must see the whole cluster before a client may be routed to it.
        while not all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
            if time.monotonic() > deadline:
                msg = "the Redis Cluster did not reach cluster_state:ok in 30 s"
                raise TimeoutError(msg)
            time.sleep(0.1)
        return self

    def keys_per_node(self) -> list[int]:
        """:return: How many keys each node holds (``DBSIZE``)."""
        return [int(n.cli("DBSIZE").strip()) for n in self.nodes]

    def stop(self) -> None:
        """Stops every node."""
        for node in self.nodes:
            node.stop()
