"""API fuzzing: schemathesis over every operation of the OpenAPI schema at /api/schema/.

Each operation gets a bounded number of generated requests (``FUZZ_EXAMPLES``; the whole file
stays well under three minutes on two cores) from a signed-in CX leader using
``Authorization: Token <key>`` (the intake operation: a generic source's bearer token, so the
generated bodies reach the parser), and every reply must be no 5xx and a status the schema documents
for that operation. Requests go through Django's WSGI application in-process, inside the test's
transaction, so nothing generated here survives the test.

Stats (operations, examples, server errors) are printed at the end of the run by
tests/security/conftest.py.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.security.conftest import FUZZ_STATS

FUZZ_EXAMPLES = int(os.environ.get("CXGOV_FUZZ_EXAMPLES", "12"))

# Edge cases the outside probe found 500s with (issue 24): far and impossible dates, numbers
# that ``str.isdigit()`` accepts and ``int()`` refuses, and ids past PostgreSQL's bigint.
EDGE_DATES = [
    "9999-12-31",
    "0001-01-01",
    "1969-12-31",
    "2100-01-01",
    "2026-02-29",
    "2026-13-01",
    "２０２６-01-01",
]
EDGE_NUMBERS = ["²", "١٢", "-1", "0", "1e3", "1.5", str(2**63), "9" * 30, " 1", "0x10"]
schemathesis.openapi.format(
    "date",
    st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(EDGE_DATES)),
)

application = get_wsgi_application()


def _served_schema() -> Any:
    """The schema /api/schema/ serves, with the error statuses documented by
    ``cxgov.schema.document_error_responses`` even before the setting enables the hook."""
    from django.conf import settings as django_settings
    from drf_spectacular.generators import SchemaGenerator

    from cxgov.schema import document_error_responses

    raw = SchemaGenerator().get_schema(request=None, public=True)
    hooks = django_settings.SPECTACULAR_SETTINGS.get("POSTPROCESSING_HOOKS", [])
    if "cxgov.schema.document_error_responses" not in hooks:
        raw = document_error_responses(raw, None, None, True)
    # The coverage phase would try every boundary of every field (thousands of requests); the
    # explicit examples and a bounded fuzzing phase keep the run under three minutes.
    config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)), config=config)
    loaded.app = application
    loaded.raw_document = json.loads(json.dumps(raw, default=str))
    return loaded


schema = _served_schema()


def _edge_requests() -> list[tuple[str, str, str, str]]:
    """(method, path template, parameter, value): every integer or date parameter (query or path)
    of every operation, with each edge value."""
    out = []
    for path, item in schema.raw_document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for param in operation.get("parameters", []):
                kind = param.get("schema", {})
                if kind.get("type") == "integer":
                    values = EDGE_NUMBERS
                elif kind.get("format") == "date":
                    values = EDGE_DATES
                else:
                    continue
                out += [(method, path, f"{param['in']}:{param['name']}", v) for v in values]
    return out


@pytest.fixture
def _keep_the_test_connection() -> Any:
    """Django closes the connection at the end of a WSGI request; inside a test transaction that
    would end the test. Django's own test client does the same disconnecting."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(db: None, _keep_the_test_connection: None) -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    from charter.roles import Role
    from tests.factories import DepartmentFactory, ProgramFactory, SourceFactory, UserFactory

    leader = UserFactory(username="fuzz-leader", role=Role.CX_LEADER)
    source = SourceFactory(
        slug="fuzz-source", program=ProgramFactory(slug="fuzz", department=DepartmentFactory(slug="fz"))
    )
    return {"user": f"Token {Token.objects.create(user=leader).key}", "source": f"Bearer {source.token}"}


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_an_undocumented_status(case: Any, api_token: dict[str, str]) -> None:
    FUZZ_STATS["operations"].add(case.operation.label)
    FUZZ_STATS["examples"] += 1
    if case.path.startswith("/api/v1/intake/"):
        case.path_parameters = {"slug": "fuzz-source"}  # fuzz the body the parser sees, as the source
        authorization = api_token["source"]
    else:
        authorization = api_token["user"]
    response = case.call(headers={"Authorization": authorization})
    if response.status_code >= 500:
        FUZZ_STATS["server_errors"] += 1
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])


@pytest.mark.parametrize(("method", "path", "param", "value"), _edge_requests())
def test_edge_numbers_and_dates_in_parameters_are_never_a_server_error(
    api_token: dict[str, str], method: str, path: str, param: str, value: str
) -> None:
    from django.test import Client

    where, name = param.split(":", 1)
    url = path
    for other in re.findall(r"{(\w+)}", path):
        url = url.replace(
            "{" + other + "}", quote(value, safe="") if (where, other) == ("path", name) else "1"
        )
    if url.startswith("/api/v1/intake/"):
        url = "/api/v1/intake/fuzz-source/"
    query = {name: value} if where == "query" else {}
    if path.startswith("/api/v1/metrics/") and where == "query":
        query = {"metric": "nps", "group_by": "month", **query}
    reply = Client().generic(
        method.upper(),
        url + ("?" + urlencode(query) if query else ""),
        headers={"Authorization": api_token["user"]},
    )
    FUZZ_STATS["examples"] += 1
    if reply.status_code >= 500:
        FUZZ_STATS["server_errors"] += 1
    assert reply.status_code < 500, (method, url, query, reply.content[:300])
