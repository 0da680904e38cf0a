"""A small open-loop HTTP load generator, run as its own process (never in the measured one).

``python -m bench.loadgen --url URL --token T --rate 100 --duration 20 --prefix P`` sends
generic-intake webhooks at a fixed rate (requests start on schedule whether or not earlier
ones finished, as real webhooks do) and prints one JSON object: per request its external id,
wall-clock send and reply times and status. Wall-clock (``time.time``) so the runner can
compare reply times with timestamps the worker wrote in PostgreSQL on the same machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

NEGATIVE = [
    "I waited on hold for forty minutes and nobody helped.",
    "Charged twice, still no refund. Terrible.",
    "The app crashes every time, awful experience.",
    "Delivery was late again and support never replied.",
]


def body_for(external_id: str, rng: random.Random, *, actionable: bool) -> bytes:
    score = rng.randrange(0, 5) if actionable else rng.randrange(0, 11)
    data = {
        "external_id": external_id,
        "customer": {
            "external_id": f"lg-{rng.randrange(5000)}",
            "email": f"lg{rng.randrange(5000)}@bench.example",
        },
        "scores": {"nps": score},
        "comment": rng.choice(NEGATIVE),
        "answers": {"channel": "web"},
    }
    return json.dumps(data).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--actionable", action="store_true")
    parser.add_argument("--max-lag", type=float, default=5.0, help="skip requests this many s late")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.token}"}
    local = threading.local()
    results: list[tuple[str, float, float, int]] = []
    lock = threading.Lock()

    def send(i: int, due: float) -> None:
        rng = random.Random(i)
        external_id = f"{args.prefix}-{i}"
        body = body_for(external_id, rng, actionable=args.actionable)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -args.max_lag:
            # The server cannot keep up: this request would start seconds late. Record it as
            # not sent (status 0) instead of letting the run stretch far past its duration.
            with lock:
                results.append((external_id, time.time(), time.time(), 0))
            return
        sent = time.time()
        status = 0
        for _attempt in range(2):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            try:
                conn.request("POST", parts.path, body=body, headers=headers)
                reply = conn.getresponse()
                reply.read()
                status = reply.status
                if reply.getheader("Connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None
        done = time.time()
        with lock:
            results.append((external_id, sent, done, status))

    total = int(args.rate * args.duration)
    start = time.monotonic() + 0.2
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for i in range(total):
            pool.submit(send, i, start + i / args.rate)
    json.dump({"requests": results, "rate": args.rate, "duration": args.duration}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
