"""An RQ worker that runs many I/O-bound jobs at once in one process, as gevent greenlets.

RQ runs one job at a time per worker. Writing a reply is mostly waiting on the model's HTTP stream,
so the llm queue is served by this worker instead: it keeps dequeuing while fewer than
`concurrency` jobs run, and performs each through RQ's own execution bookkeeping (started,
finished, failed and canceled registries stay true, so rq-dashboard shows what runs). Job timeouts
use gevent timers instead of SIGALRM, which a process has only one of.

The main loop takes the next job while hundreds of others stream, and each of its Redis round
trips waits for its turn among them: it does as few as it can. Jobs already waiting are taken
several at a time, in two round trips; a job's execution record is written from the job's own
greenlet, in the same round trip as its start; the worker's heartbeat is sent at most every
HEARTBEAT_INTERVAL, the `rq suspend` flag read at most every SUSPENSION_CHECK_INTERVAL, and its
state only when it changes (busy while any job runs).

The process must be monkey-patched by gevent before anything else is imported (worker/__main__.py).
"""

from __future__ import annotations

from datetime import timedelta

import gevent
import redis
from gevent.pool import Pool
from greenlet import greenlet
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import BaseDeathPenalty
from rq.utils import as_text, now
from rq.worker import SimpleWorker
from rq.worker.base import WorkerStatus

HEARTBEAT_INTERVAL = timedelta(seconds=5)  # far inside RQ's worker TTL (minutes)
SUSPENSION_CHECK_INTERVAL = timedelta(seconds=1)
TAKE_AT_ONCE = 20  # most jobs taken in one go when they queue up


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
        self._taken: list[tuple[Job, Queue]] = []  # taken from their queue, not started yet
        self._unsent: dict[str, redis.client.Pipeline] = {}  # job id -> its execution's records
        self._suspension_checked_at = None

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """The next job, taken only when a slot is free, so waiting jobs stay available to other
        workers. Jobs already waiting are taken together, as many as there are free slots; when
        none waits, RQ's blocking dequeue waits for the next one (so the taking of several, an
        extra round trip, is done before a job arrives, not after)."""
        if not self._taken:
            self._wait_for(self.pool.wait_available)
            self._taken = self._take_waiting(min(self.pool.free_count(), TAKE_AT_ONCE))
        if self._taken:
            return self._taken.pop(0)
        return self._wait_for(lambda: super(GreenletWorker, self).dequeue_job_and_maintain_ttl(
            timeout, max_idle_time))

    def _wait_for(self, wait):
        """Run a wait that a warm shutdown may interrupt (see _shutdown)."""
        self._waiting_for_job = gevent.getcurrent()
        try:
            return wait()
        finally:
            self._waiting_for_job = None

    def _take_waiting(self, count: int) -> list[tuple[Job, Queue]]:
        """Up to `count` jobs already waiting, from the first of the worker's queues that has
        some: moved to its intermediate queue as RQ does for one (one round trip), then read
        (one more)."""
        for queue in self._ordered_queues:
            with self.connection.pipeline(transaction=False) as pipe:
                for _ in range(count):
                    pipe.lmove(queue.key, queue.intermediate_queue_key)
                job_ids = [as_text(job_id) for job_id in pipe.execute() if job_id is not None]
            if job_ids:
                jobs = self.job_class.fetch_many(job_ids, connection=self.connection,
                                                 serializer=self.serializer)
                return [(job, queue) for job in jobs if job is not None]
        return []

    def _give_back(self) -> None:
        """Put the jobs taken but not started back at the front of their queue."""
        taken, self._taken = self._taken, []
        if not taken:
            return
        with self.connection.pipeline() as pipe:
            for job, queue in reversed(taken):
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                queue.push_job_id(job.id, pipeline=pipe, at_front=True)
            pipe.execute()

    def check_for_suspension(self, burst):
        """RQ asks before every job; here at most every SUSPENSION_CHECK_INTERVAL."""
        if self._suspension_checked_at is not None \
                and now() - self._suspension_checked_at < SUSPENSION_CHECK_INTERVAL:
            return
        super().check_for_suspension(burst)
        self._suspension_checked_at = now()

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

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ beats around every job it takes; alone (not part of a job's own pipeline), the beat
        is sent at most every HEARTBEAT_INTERVAL."""
        if pipeline is None and self.last_heartbeat is not None \
                and now() - self.last_heartbeat < HEARTBEAT_INTERVAL:
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state, pipeline=None):
        """Written when it changes; idle only once no job runs (RQ says idle whenever it waits
        for the next job)."""
        pool = getattr(self, "pool", None)  # RQ sets a state before __init__ has made the pool
        if state == WorkerStatus.IDLE and pool is not None \
                and len(pool) > (gevent.getcurrent() in pool):
            return
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline)

    def execute_job(self, job, queue):
        """Start the job in a greenlet and return once it waits for the first time (its start
        goes before the main loop's next round trip)."""
        self.pool.spawn(self._perform, job, queue)
        gevent.sleep(0)

    def _perform(self, job, queue):
        self.perform_job(job, queue, self.prepare_execution(job))
        self.set_state(WorkerStatus.IDLE)  # if this was the last job running

    def prepare_execution(self, job):
        """RQ's execution record (rq.executions.prepare_execution), queued on a pipeline that
        prepare_job_execution sends: RQ sends each on its own, a round trip more per job."""
        pipeline = self.connection.pipeline()
        execution = Execution.create(job, self.get_heartbeat_ttl(job), pipeline=pipeline,
                                     worker_name=self.name)
        self.executions[execution.id] = execution
        self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
        self._unsent[job.id] = pipeline
        return execution

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        """RQ's bookkeeping at a job's start (BaseWorker.prepare_job_execution), sent with the
        execution's record."""
        with self._unsent.pop(job.id) as pipeline:
            heartbeat_ttl = self.get_heartbeat_ttl(job)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            pipeline.persist(job.key)
            if remove_from_intermediate_queue:
                queue = Queue(job.origin, connection=self.connection)
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
            pipeline.execute()

    def teardown(self):
        """Give back the jobs taken but not started, and let running jobs finish (warm
        shutdown, or the end of a burst) before leaving."""
        try:
            self._give_back()
        except redis.RedisError:  # they stay in the intermediate queue, where RQ finds them
            self.log.warning("could not give back the jobs taken but not started", exc_info=True)
        self.pool.join()
        super().teardown()
