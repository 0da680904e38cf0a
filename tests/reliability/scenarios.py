"""The fault scenarios of issue 10 and the tests that prove each (summed up by tests/summary.py)."""

FAULT_SCENARIOS: dict[str, list[str]] = {
    "Redis down during intake: 2xx, processed exactly once when back": [
        "tests/reliability/test_redis_down.py::",
    ],
    "Worker SIGKILL mid-task: redelivered, nothing lost or doubled": [
        "tests/worker/test_worker_crash.py::",
    ],
    "PostgreSQL restarted under load: 503 + Retry-After, reconnects, no half-written rows": [
        "tests/reliability/test_postgres_restart.py::test_postgres_restart_under_load",
    ],
    "The same delivery x10 in parallel: one response, one action": [
        "tests/reliability/test_postgres_restart.py::test_the_same_delivery_ten_times_in_parallel",
        "tests/worker/test_pipeline_worker.py::test_duplicate_and_concurrent_deliveries",
    ],
    "A replay outside the 5-minute window: 401": [
        "tests/reliability/test_replay.py::",
    ],
    "Beat ticking twice: no double escalation or e-mail": [
        "tests/worker/test_pipeline_worker.py::test_beat_ticking_twice",
    ],
    "SMTP and Slack endpoints down: retried later, pipeline unaffected": [
        "tests/worker/test_pipeline_worker.py::test_notifications_are_retried",
    ],
}
