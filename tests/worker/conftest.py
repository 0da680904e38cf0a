"""Real Celery workers for the queue tests: a subprocess on the test database and Redis.

``celery -A cxgov worker -Q <this run's queue> --pool=prefork -c 2`` runs with
``DJANGO_SETTINGS_MODULE=cxgov.settings_test``, ``CXGOV_TEST_EAGER=0`` and ``DATABASE_URL``
pointing at the database pytest-django created. Tests use ``transactional_db`` so what they
write is committed and visible to the worker. The test process itself stops running tasks
inline (``task_always_eager`` off), so the outbox relay really publishes to Redis.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
READY_TIMEOUT = 30.0


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Bounded polling for work a real worker does; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a tiny SMTP server that can be taken down and brought back ----------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: SMTPServer = self.server.owner  # type: ignore[attr-defined]
        self.wfile.write(b"220 cxgov-test ESMTP\r\n")
        sender, recipients, in_data, lines = "", [], False, []
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if in_data:
                if line == ".":
                    server.messages.append({"from": sender, "to": recipients, "data": "\n".join(lines)})
                    # A message ends its mail transaction: the next MAIL on this connection
                    # starts with no recipients (RFC 5321 §3.3), as a real server does.
                    sender, recipients, in_data, lines = "", [], False, []
                    self.wfile.write(b"250 OK queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith("..") else line)
                continue
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 cxgov-test\r\n")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip()
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip())
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                in_data = True
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == "RSET":
                sender, recipients = "", []
                self.wfile.write(b"250 OK\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SMTPServer:
    """Listens on a fixed port while up; refuses connections while down."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[dict[str, Any]] = []
        self._server: _TCPServer | None = None

    def up(self) -> None:
        if self._server is None:
            self._server = _TCPServer(("127.0.0.1", self.port), _SMTPHandler)
            self._server.owner = self  # type: ignore[attr-defined]
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
            smtplib.SMTP("127.0.0.1", self.port, timeout=5).quit()  # listening

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer(_free_port())
    yield server
    server.down()


# --- the worker ---------------------------------------------------------------------------------


class Worker:
    """One ``celery worker`` subprocess in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.hostname = f"cxgov-test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"

    def start(self) -> Worker:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        self.proc = subprocess.Popen(
            [CELERY, "-A", "cxgov", "worker", "-Q", queue, "--pool=prefork", "-c", "2",
             "-n", self.hostname, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "INFO"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self._ready, timeout=READY_TIMEOUT, interval=0.2)
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"celery worker exited early:\n{self.log.read_text()[-4000:]}")
        return "ready." in self.log.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The main process and its pool children."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        extra = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [self.proc.pid, *extra]

    def busy(self) -> list[dict]:
        """Tasks the worker is running or holds for its pool (asked over remote control)."""
        from cxgov.celery import app

        inspect = app.control.inspect(destination=[self.hostname], timeout=2.0)
        tasks: list[dict] = []
        for reply in (inspect.active(), inspect.reserved()):
            if reply is None:  # no answer: count it as busy rather than guess
                return [{"no_reply": self.hostname}]
            tasks.extend(task for worker_tasks in reply.values() for task in worker_tasks)
        return tasks

    def wait_idle(self, *, timeout: float = 30.0) -> None:
        """Until the queue is empty and the worker runs nothing, twice in a row.

        A test ends when its assertion holds, which can be before the worker has finished
        every task it published (duplicates of one task, say). The transactional test's
        flush then TRUNCATEs every table while a task's transaction holds some of them:
        PostgreSQL sees a deadlock and aborts the flush, and the next test starts on the
        last one's rows.
        """
        idle_checks = 0

        def idle() -> bool:
            nonlocal idle_checks
            quiet = _queue_length() == 0 and not self.busy()
            idle_checks = idle_checks + 1 if quiet else 0
            return idle_checks >= 2

        wait_for(idle, timeout=timeout, interval=0.1)

    def kill(self) -> None:
        """SIGKILL the whole worker, children included: nothing gets to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _queue_length() -> int:
    from cxgov.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)


def _purge_queue() -> None:
    from cxgov.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture(scope="module")
def worker_env(
    django_db_setup: None, smtp_server: SMTPServer, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cxgov.settings_test",
            "DATABASE_URL": _database_url(),
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "CXGOV_TEST_EAGER": "0",
            "CXGOV_TEST_EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
            "DJANGO_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.CACHES["default"].get("LOCATION"):
        env["REDIS_URL"] = settings.CACHES["default"]["LOCATION"]
    return env


@pytest.fixture
def start_worker(
    worker_env: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Worker]]:
    """Start workers on demand; every one still running is stopped at the end of the test,
    before the test database is flushed (a worker still busy with redelivered work would
    otherwise deadlock the flush's TRUNCATE)."""
    started: list[Worker] = []
    log = tmp_path_factory.mktemp("celery") / "worker.log"

    def start() -> Worker:
        worker = Worker(worker_env, log).start()
        started.append(worker)
        return worker

    _purge_queue()
    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def _module_worker(worker_env: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    _purge_queue()
    worker = Worker(worker_env, tmp_path_factory.mktemp("celery") / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_module_worker: Worker, transactional_db: None) -> Iterator[Worker]:
    """One worker shared by a module's tests. Each test's end waits until the worker is idle,
    and that wait runs before the database is flushed (this fixture needs
    ``transactional_db``, so its teardown comes first)."""
    yield _module_worker
    _module_worker.wait_idle()


@pytest.fixture(autouse=True)
def _not_eager(settings: Any) -> Iterator[None]:
    """Publish for real: the relay and ``apply_async`` go to Redis, not inline."""
    from cxgov.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous
