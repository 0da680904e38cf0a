"""Fault injection without touching the services other test runs share.

- ``RedisServer``: a private ``redis-server`` (first choice port 6390) that the tests stop and start.
- ``PostgresCluster``: a throwaway PostgreSQL 15 cluster (``initdb`` in a temp dir, first choice
  port 5499, socket in /tmp) run as the ``postgres`` user, stopped and restarted, removed after.

A port already in use (another test run on the same machine) is replaced by a free one, so two
runs never fight over a service.
- ``AppServer``: gunicorn serving cxgov against that cluster, in a subprocess.

Every fixture restores or removes what it started in ``finally``/teardown, so a failing test
never leaves a stopped service behind. At the end of the run a line says how many fault
scenarios survived, counting these tests and the real-worker ones in tests/worker/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_PORT = 6390
PG_PORT = 5499

#: Fault scenario -> the tests that prove it (node id prefixes). Survived = all ran and passed.


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Bounded polling for a real service; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port(preferred: int | None = None) -> int:
    if preferred is not None and not port_open(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Redis ----------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server: ``down()`` kills it, ``up()`` starts an empty one."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(REDIS_PORT)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        assert not port_open(self.port), f"port {self.port} is taken by someone else"
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=20)

    def down(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        wait_for(lambda: not port_open(self.port), timeout=10)


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.up()
    try:
        yield server
    finally:
        server.down()


# --- PostgreSQL -------------------------------------------------------------------------------------


def _as_postgres(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


class PostgresCluster:
    """A throwaway cluster owned by the ``postgres`` user; nobody else's tests use it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(PG_PORT)
        self.dir = Path(tempfile.mkdtemp(prefix="cxgov-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.dbname = "cxgov_fault"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def init(self) -> None:
        shutil.chown(self.dir, "postgres", "postgres")
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        self.start()
        _as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), self.dbname)

    def start(self) -> None:
        assert not port_open(self.port), f"port {self.port} is taken by someone else"
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=self.dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """Real mode against the throwaway cluster; tasks inline (no broker), our middleware on."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "PYTEST"))
    }
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "tests.reliability.fault_settings",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "fault-injection-only-" + "x" * 40,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_CONN_MAX_AGE": "60",
        "CXGOV_INTAKE_RATE_PER_MINUTE": "100000",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


class AppServer:
    """gunicorn serving cxgov on a free port (2 sync workers)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [gunicorn, "cxgov.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "2", "--timeout", "60"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._ready, timeout=90)

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-4000:]}")
        return port_open(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
