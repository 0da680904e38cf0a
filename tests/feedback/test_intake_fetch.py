"""Event-only vendors (Qualtrics): 202 + awaiting details, then a task fetches the details from
the vendor API. A tiny HTTP server on 127.0.0.1 stands in for the vendor (outside the product)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from feedback.intake import response_fetch_details
from feedback.models import OutboxEvent, Response
from tests.factories import SourceFactory

SHARED_KEY = "qualtrics-shared-key"
API_REPLY = {
    "result": {
        "responseId": "R_3kFwVgVfW3JcCQ1",
        "values": {
            "startDate": "2026-11-01T09:58:00Z",
            "endDate": "2026-11-01T10:00:00Z",
            "recordedDate": "2026-11-01T10:00:05Z",
            "finished": 1,
            "QID1": 3,
            "QID2_TEXT": "Nobody answered the phone.",
            "recipientEmail": "Pat@Example.com",
        },
        "labels": {"QID1": "3"},
    },
    "meta": {"requestId": "abc", "httpStatus": "200 - OK"},
}


class VendorApi:
    """Records requests and answers with ``reply`` (JSON) and ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.reply: dict = API_REPLY
        self.status = 200
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = json.dumps(api.reply).encode()
                self.send_response(api.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> VendorApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def qualtrics_event(response_id: str = "R_3kFwVgVfW3JcCQ1", survey_id: str = "SV_abc123") -> str:
    msg = json.dumps(
        {
            "Status": "Complete",
            "SurveyID": survey_id,
            "ResponseID": response_id,
            "CompletedDate": "2026-11-01 10:00:05",
        }
    )
    mac = hmac.new(SHARED_KEY.encode(), msg.encode(), hashlib.sha512).hexdigest()
    return urllib.parse.urlencode(
        {"Topic": f"surveyengine.completedResponse.{survey_id}", "MSG": msg, "HMAC": mac}
    )


@pytest.fixture(autouse=True)
def _the_stand_in_vendor_is_allowed(monkeypatch):
    """The stand-in vendor listens on 127.0.0.1 over http, which the product refuses to fetch
    (feedback/vendor_hosts.py, tested in tests/security/test_probe_findings.py)."""
    monkeypatch.setattr("feedback.intake.vendor_url_check", lambda url, *, kind, resolve=True: url)


@pytest.fixture
def source(dept_a):
    return SourceFactory(
        slug="qualtrics",
        kind="qualtrics",
        secret=SHARED_KEY,
        program__department=dept_a,
        field_map={"nps": "QID1", "comment": "QID2_TEXT"},
    )


def deliver(client, source, body: str):
    return client.post(
        f"/api/v1/intake/{source.slug}/", data=body, content_type="application/x-www-form-urlencoded"
    )


def test_an_event_is_accepted_with_202_and_waits_for_details(client, source):
    reply = deliver(client, source, qualtrics_event())
    assert reply.status_code == 202, reply.content
    assert reply.json()["status"] == "accepted"
    response = Response.objects.get()
    assert response.status == "awaiting_details"
    assert OutboxEvent.objects.filter(kind="response_fetch", object_id=response.id).exists()
    assert deliver(client, source, qualtrics_event()).status_code == 200
    assert Response.objects.count() == 1


def test_a_bad_qualtrics_hmac_is_401(client, source):
    body = qualtrics_event().replace("HMAC=", "HMAC=00")
    assert deliver(client, source, body).status_code == 401


def test_json_to_a_form_encoded_vendor_is_415(client, source):
    reply = client.post(f"/api/v1/intake/{source.slug}/", data="{}", content_type="application/json")
    assert reply.status_code == 415


def test_with_credentials_the_task_fetches_and_fills_the_response(client, source):
    deliver(client, source, qualtrics_event())
    response = Response.objects.get()
    event = OutboxEvent.objects.get(kind="response_fetch")
    with VendorApi() as api:
        source.api_credentials = {"base_url": api.url, "api_token": "tok-123"}
        source.save()
        assert response_fetch_details(response_id=response.id, event_id=event.id) == "filled"
    path, headers = api.requests[0]
    assert path == "/API/v3/surveys/SV_abc123/responses/R_3kFwVgVfW3JcCQ1"
    assert headers["x-api-token"] == "tok-123"
    response.refresh_from_db()
    assert (response.status, response.nps, response.nps_band) == ("received", 3, "detractor")
    assert response.comment == "Nobody answered the phone."
    assert response.customer.email == "pat@example.com"
    assert "_fetch" not in response.answers
    event.refresh_from_db()
    assert event.processed_at is not None
    assert OutboxEvent.objects.filter(kind="response_process", object_id=response.id).exists()


def test_without_credentials_the_response_stays_awaiting_details(client, source):
    deliver(client, source, qualtrics_event())
    response = Response.objects.get()
    event = OutboxEvent.objects.get(kind="response_fetch")
    assert response_fetch_details(response_id=response.id, event_id=event.id) == "no_credentials"
    response.refresh_from_db()
    assert response.status == "awaiting_details"


def test_a_vendor_refusal_keeps_the_response_waiting_and_stops_retrying(client, source):
    deliver(client, source, qualtrics_event())
    response = Response.objects.get()
    event = OutboxEvent.objects.get(kind="response_fetch")
    with VendorApi() as api:
        api.status = 401
        source.api_credentials = {"base_url": api.url, "api_token": "wrong"}
        source.save()
        assert response_fetch_details(response_id=response.id, event_id=event.id) == "vendor_refused"
    response.refresh_from_db()
    event.refresh_from_db()
    assert response.status == "awaiting_details"
    assert event.processed_at is not None
    assert "401" in event.last_error


def test_the_task_is_safe_to_run_twice(client, source):
    deliver(client, source, qualtrics_event())
    response = Response.objects.get()
    with VendorApi() as api:
        source.api_credentials = {"base_url": api.url, "api_token": "t"}
        source.save()
        assert response_fetch_details(response_id=response.id) == "filled"
        assert response_fetch_details(response_id=response.id) == "skipped"
    assert len(api.requests) == 1


SM_SECRET = "sm-app-secret"


def test_surveymonkey_event_is_fetched_with_a_bearer_token(client, dept_a):
    import base64
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "vendors" / "surveymonkey"
    body = (fixtures / "response_completed.json").read_bytes()
    details = json.loads((fixtures / "response_details.json").read_bytes())
    if isinstance(details, dict):
        details.pop("_source", None)
    source = SourceFactory(slug="sm", kind="surveymonkey", secret=SM_SECRET, program__department=dept_a)
    signature = base64.b64encode(hmac.new(f"key1&{SM_SECRET}".encode(), body, hashlib.sha1).digest()).decode()
    reply = client.post(
        f"/api/v1/intake/{source.slug}/",
        data=body,
        content_type="application/json",
        HTTP_SM_APIKEY="key1",
        HTTP_SM_SIGNATURE=signature,
    )
    assert reply.status_code == 202, reply.content
    response = Response.objects.get()
    with VendorApi() as api:
        api.reply = details
        source.api_credentials = {"access_token": "sm-token", "base_url": api.url}
        source.save()
        assert response_fetch_details(response_id=response.id) == "filled"
    path, headers = api.requests[0]
    assert path == "/v3/surveys/123456789/responses/123456/details?simple=true"
    assert headers["authorization"] == "Bearer sm-token"
    response.refresh_from_db()
    assert response.status == "received"
