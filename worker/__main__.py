"""Start an RQ worker: `python -m worker [--burst] llm default`."""

from __future__ import annotations

import argparse

from rq import Worker

from chatapp.services.jobs import QUEUES
from chatapp.services.llm import provider_kind
from chatapp.services.redis_client import get_redis
from worker import get_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and work the given queues until stopped (or empty, with --burst)."""
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    parser.add_argument("queues", nargs="*", default=list(QUEUES),
                        help=f"queues to work, in priority order (default: {' '.join(QUEUES)})")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    app = get_app()
    if "llm" in args.queues and provider_kind(app.config) == "offline":
        # Loaded once here, each forked job reuses it (the parent never generates: see offline.py).
        from chatapp.services.llm.offline import load_model

        load_model()
    worker = Worker(args.queues, connection=get_redis(app))
    worker.work(burst=args.burst, logging_level=app.config["LOG_LEVEL"])


if __name__ == "__main__":
    main()
