"""The page-load script the triage figure drives ``wrk`` with: 20 users with their own session
cookie who each think for their own random time. Against a tiny local HTTP server that writes
down who asked when; never asserts a time of the product."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench import figures

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is installed by scripts/ensure_services.sh"
)


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, float, int]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.headers.get("Cookie", ""), time.monotonic(), self.client_address[1]))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve() -> tuple[ThreadingHTTPServer, str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_each_user_thinks_for_a_time_of_its_own() -> None:
    server, url = _serve()
    try:
        cookies = ",".join(f"user{i}" for i in range(20))
        result = figures.run_wrk(
            script="pages.lua",
            url=url + "/inbox/",
            seconds=3,
            connections=20,
            threads=20,
            env={"BENCH_COOKIES": cookies, "BENCH_PATH": "/inbox/", "BENCH_THINK_MS": "200,600"},
        )
    finally:
        server.shutdown()
    assert result["ok"] > 40 and result["bad"] == 0
    by_user: dict[str, list[float]] = {}
    for cookie, at, _port in _Recorder.seen:
        by_user.setdefault(cookie, []).append(at)
    assert len(by_user) == 20  # one session per user
    # Unseeded, every thread's Lua state drew the same think times: a handful of gaps between
    # page loads, repeated by every user to within the reply's time.
    gaps = [b - a for times in by_user.values() for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 60
    assert len({round(gap * 200) for gap in gaps}) >= 30  # distinct to 5 ms, of 80 possible


def test_a_warm_up_opens_a_connection_per_request() -> None:
    server, url = _serve()
    try:
        figures.run_wrk(
            script="pages.lua",
            url=url + "/",
            seconds=1,
            connections=2,
            threads=2,
            env={"BENCH_COOKIES": "a,b", "BENCH_PATH": "/", "BENCH_CLOSE": "1"},
        )
    finally:
        server.shutdown()
    ports = [port for _cookie, _at, port in _Recorder.seen]
    assert len(ports) > 4
    assert len(set(ports)) > 2 * 2  # kept alive, the two connections would carry them all
