"""Real-mode settings for the fault-injection app server: ``cxgov.settings`` plus the
operator middleware (request ids, 503 on a database outage), first in the chain.

Once the middleware is in ``cxgov.settings`` itself this adds nothing (no duplicates).
"""

from cxgov.settings import *  # noqa: F403

_OURS = ["cxgov.middleware.RequestIdMiddleware", "cxgov.middleware.DatabaseUnavailableMiddleware"]
MIDDLEWARE = [*_OURS, *[m for m in MIDDLEWARE if m not in _OURS]]  # noqa: F405
