"""WSGI entry point: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

from chatapp import create_app

app = create_app()
