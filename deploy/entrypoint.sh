#!/bin/sh
# Container entry point: `web` migrates the database then serves; `worker [queues]` runs RQ jobs;
# anything else is executed as given.
set -e
case "$1" in
  web)
    flask --app wsgi db upgrade
    exec gunicorn -c deploy/gunicorn.conf.py wsgi:app
    ;;
  worker)
    shift
    exec python -m worker "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
