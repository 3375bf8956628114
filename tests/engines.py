"""Real engines for the tests (redis-server, haproxy, nginx), started on loopback by the tests.

An engine that is not installed skips its tests with a message saying so, except where
``TRIO_MCP_HTTP_REQUIRE_ENGINES=1`` (set by ``.ci/run``, which installs them): there a missing
engine fails the test, so CI never skips silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRED = os.environ.get("TRIO_MCP_HTTP_REQUIRE_ENGINES") == "1"
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def find_engine(name: str) -> str:
    """The path of ``name``'s executable, or skip (fail where engines are required)."""
    found = shutil.which(name, path=SEARCH_PATH)
    if found is None:
        message = f"{name} is not installed (apt-get install {name}); .ci/run installs it"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    """A loopback port nobody listens on now (for engines that cannot report a bound port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Redis:
    """A redis-server on a Unix socket in a temporary directory; it can be stopped and restarted."""

    def __init__(self, *options: str) -> None:
        self.executable = find_engine("redis-server")
        self.options = options
        # A short directory: a Unix socket's path is limited to 107 bytes.
        self.directory = Path(tempfile.mkdtemp(prefix="tmh-redis-", dir="/tmp"))
        self.socket_path = self.directory / "redis.sock"
        self.url = f"unix://{self.socket_path}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start it, returning once it accepts connections."""
        assert self.process is None
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "notice",
                *self.options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # blocks until redis says it is ready (or exits)
            if "ready to accept connections" in line.lower():
                return
        raise RuntimeError(f"redis-server exited with {self.process.wait()}")

    def stop(self) -> None:
        """Kill it (SIGKILL: connections drop as in a crash)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
            self.socket_path.unlink(missing_ok=True)


@contextmanager
def running_redis(*options: str) -> Iterator[Redis]:
    """A started :class:`Redis` (``options`` added to its command line), killed on exit."""
    redis = Redis(*options)
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(redis.directory, ignore_errors=True)
