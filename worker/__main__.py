"""Start RQ workers: `python -m worker [--burst] [--concurrency N] [queue ...]`.

The llm queue runs in a worker that writes many replies at once (greenlets under gevent); every
other queue (default, notify, media) runs in RQ's usual worker, one job at a time. Asked for both,
this starts one process of each kind and stops them together, so a reply never waits behind an
upload or an alert.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

# chatapp.services.jobs.QUEUES, spelled out: nothing of chatapp may load before gevent patches.
CONCURRENT_QUEUE = "llm"
# notify before default: an alert is not held up by upkeep jobs (the llm queue has its own process).
DEFAULT_QUEUES = ("llm", "notify", "default", "media")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queues", nargs="*", default=list(DEFAULT_QUEUES),
                        help="queues to work, in priority order (default: llm notify default media)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="replies written at once by the llm worker (default: "
                             "CHATAPP_LLM_CONCURRENCY or 50)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the workers the queues need until stopped (or until empty, with --burst)."""
    args = parse(argv)
    if CONCURRENT_QUEUE in args.queues and len(args.queues) > 1:
        return _run_both(args)
    if args.queues == [CONCURRENT_QUEUE]:
        from gevent import monkey

        monkey.patch_all()
    _work(args)
    return 0


def _work(args: argparse.Namespace) -> None:
    from rq import Worker

    from chatapp.services.jobs import LLM_QUEUE, QUEUES
    from chatapp.services.llm import configured_models
    from chatapp.services.redis_client import get_redis
    from worker import get_app
    from worker.greenlets import GreenletWorker
    from worker.maintenance import (
        quiet_upkeep_in_rq_log,
        schedule_sqlite_checkpoints,
        schedule_upkeep,
    )

    assert (LLM_QUEUE, *DEFAULT_QUEUES[1:]) == QUEUES
    app = get_app()
    connection = get_redis(app)
    if args.queues == [LLM_QUEUE]:
        if any(choice.offline for choice in configured_models(app.config)):
            from chatapp.services.llm.offline import load_model

            load_model()  # once per process, not on the first reply
        concurrency = args.concurrency or app.config["LLM_CONCURRENCY"]
        worker = GreenletWorker(args.queues, connection=connection, concurrency=concurrency)
    else:
        worker = Worker(args.queues, connection=connection)
        if not args.burst:
            schedule_sqlite_checkpoints()
    if not args.burst:
        schedule_upkeep(app.config)
    quiet_upkeep_in_rq_log()
    # The scheduler puts jobs whose retry waits (alert deliveries) back in their queue.
    worker.work(burst=args.burst, logging_level=app.config["LOG_LEVEL"],
                with_scheduler=not isinstance(worker, GreenletWorker))


def _run_both(args: argparse.Namespace) -> int:
    others = [queue for queue in args.queues if queue != CONCURRENT_QUEUE]
    flags = (["--burst"] if args.burst else []) + (
        ["--concurrency", str(args.concurrency)] if args.concurrency else [])
    children = [subprocess.Popen([sys.executable, "-m", "worker", *flags, *queues])
                for queues in ([CONCURRENT_QUEUE], others)]

    def forward(signum, _frame):
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)


if __name__ == "__main__":
    sys.exit(main())
