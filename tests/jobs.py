"""Job functions for tests, importable by real RQ workers (the tests' PYTHONPATH holds the repo)."""

from __future__ import annotations

from rq import get_current_job


def hold(key: str) -> None:
    """Stay busy until the test pushes to Redis list `key` (at most 60 s)."""
    get_current_job().connection.blpop([key], timeout=60)


def fail() -> None:
    """A job that fails, for the failed-job registries."""
    raise RuntimeError("failing on purpose")
