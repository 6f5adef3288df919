"""gunicorn settings for chatapp: gevent workers, so one process holds many live streams."""

import multiprocessing
import os

bind = os.environ.get("CHATAPP_BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = int(os.environ.get("CHATAPP_WEB_WORKERS", min(4, multiprocessing.cpu_count())))
worker_connections = int(os.environ.get("CHATAPP_WORKER_CONNECTIONS", "1000"))
timeout = 60  # gevent workers heartbeat from the hub, so long streams are not killed
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("CHATAPP_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("CHATAPP_LOG_LEVEL", "info").lower()


def post_worker_init(worker):
    """A worker asked to stop (SIGTERM: a restart, a deploy, `kill -HUP` of the master) ends its
    live streams at once instead of holding them until graceful_timeout and then cutting them:
    the browsers reconnect to a running worker and resume after their last event."""
    import signal

    import gevent

    from chatapp.services.redis_client import get_hub

    stop = signal.getsignal(signal.SIGTERM)

    def stop_and_end_streams(signum, frame):
        stop(signum, frame)
        gevent.spawn(get_hub(worker.wsgi).close)

    signal.signal(signal.SIGTERM, stop_and_end_streams)
