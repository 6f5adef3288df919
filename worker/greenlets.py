"""An RQ worker that runs many I/O-bound jobs at once in one process, as gevent greenlets.

RQ runs one job at a time per worker. Writing a reply is mostly waiting on the model's HTTP stream,
so the llm queue is served by this worker instead: it keeps dequeuing while fewer than
`concurrency` jobs run, and performs each through RQ's own execution bookkeeping (started,
finished, failed and canceled registries stay true, so rq-dashboard shows what runs). Job timeouts
use gevent timers instead of SIGALRM, which a process has only one of.

The process must be monkey-patched by gevent before anything else is imported (worker/__main__.py).
"""

from __future__ import annotations

import gevent
from gevent.pool import Pool
from greenlet import greenlet
from rq.exceptions import StopRequested
from rq.timeouts import BaseDeathPenalty
from rq.worker import SimpleWorker
from rq.worker.base import WorkerStatus


class GreenletDeathPenalty(BaseDeathPenalty):
    """RQ's job timeout as a gevent.Timeout: it interrupts only the job's own greenlet."""

    def setup_death_penalty(self):
        """Arm the timer for the current greenlet."""
        message = f"Task exceeded maximum timeout value ({self._timeout} seconds)"
        self._timer = gevent.Timeout(self._timeout, self._exception(message))
        self._timer.start()

    def cancel_death_penalty(self):
        """Disarm the timer."""
        self._timer.close()


class GreenletWorker(SimpleWorker):
    """Runs up to `concurrency` jobs at once, each in its own greenlet."""

    death_penalty_class = GreenletDeathPenalty

    def __init__(self, *args, concurrency: int = 50, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = Pool(concurrency)
        self._waiting_for_job: greenlet | None = None  # the main loop, while it waits

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Take a job only when a slot is free, so waiting jobs stay available to other workers."""
        self._waiting_for_job = gevent.getcurrent()
        try:
            self.pool.wait_available()
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        finally:
            self._waiting_for_job = None

    def _shutdown(self):
        """Warm shutdown (SIGTERM, Ctrl-C): take no more jobs, let the running ones end.

        Under gevent the signal handler may run in another greenlet than the main loop's, where
        RQ's StopRequested would be lost and the worker would go on: the main loop is interrupted
        in its wait instead.
        """
        self._stop_requested = True
        waiting = self._waiting_for_job
        if waiting is gevent.getcurrent():
            raise StopRequested()
        if waiting is not None:
            gevent.kill(waiting, StopRequested)

    def execute_job(self, job, queue):
        """Start the job in a greenlet and return at once."""
        execution = self.prepare_execution(job)
        self.pool.spawn(self._perform, job, queue, execution)

    def _perform(self, job, queue, execution):
        self.perform_job(job, queue, execution)
        if len(self.pool) <= 1:  # this greenlet was the last one running
            self.set_state(WorkerStatus.IDLE)

    def teardown(self):
        """Let running jobs finish (warm shutdown, or the end of a burst) before leaving."""
        self.pool.join()
        super().teardown()
