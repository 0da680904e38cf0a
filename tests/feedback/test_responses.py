"""The response list and detail, in the browser and the API: scoping, filters, search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feedback.selectors import response_list
from tests.factories import ResponseFactory, SourceFactory


@pytest.fixture
def source_a(dept_a):
    return SourceFactory(slug="src-a", program__slug="prog-a", program__department=dept_a)


@pytest.fixture
def source_b(dept_b):
    return SourceFactory(slug="src-b", program__slug="prog-b", program__department=dept_b)


def test_the_api_lists_responses_in_the_public_shape(leader_client, source_a):
    response = ResponseFactory(source=source_a, nps=9, nps_band="promoter", answers={"q1": "yes"})
    reply = leader_client.get("/api/v1/responses/?source=src-a")
    assert reply.status_code == 200
    data = reply.json()
    assert set(data) >= {"count", "next", "results"}
    item = data["results"][0]
    assert set(item) >= {
        "id",
        "source",
        "external_id",
        "submitted_at",
        "customer",
        "scores",
        "comment",
        "answers",
        "status",
    }
    assert item["id"] == response.id
    assert item["source"] == "src-a"
    assert item["scores"] == {"nps": 9}
    assert item["customer"]["email"] == response.customer.email
    assert item["answers"] == {"q1": "yes"}


def test_the_api_shows_only_the_users_departments(ambassador_client, source_a, source_b):
    mine = ResponseFactory(source=source_a)
    ResponseFactory(source=source_b)
    ids = [r["id"] for r in ambassador_client.get("/api/v1/responses/").json()["results"]]
    assert ids == [mine.id]
    assert ambassador_client.get("/api/v1/responses/?source=src-b").json()["count"] == 0


def test_the_api_needs_authentication(client):
    assert client.get("/api/v1/responses/").status_code in (401, 403)


def test_the_api_filters_by_band_date_department_and_program(leader_client, source_a, source_b, dept_b):
    now = timezone.now()
    ResponseFactory(source=source_a, nps=2, nps_band="detractor", submitted_at=now - timedelta(days=10))
    keep = ResponseFactory(source=source_b, nps=9, nps_band="promoter", submitted_at=now)

    def ids(query: str) -> list[int]:
        return [r["id"] for r in leader_client.get(f"/api/v1/responses/?{query}").json()["results"]]

    assert ids("band=promoter") == [keep.id]
    assert ids(f"from={(now - timedelta(days=1)).date().isoformat()}") == [keep.id]
    assert ids("department=billing") == [keep.id]
    assert ids("program=prog-b") == [keep.id]


def test_full_text_search_finds_stemmed_words_in_comments(leader, source_a):
    hit = ResponseFactory(source=source_a, comment="The courier delivered it late, twice.")
    ResponseFactory(source=source_a, comment="Lovely staff.")
    assert list(response_list(user=leader, q="delivering")) == [hit]


def test_the_list_selector_uses_constant_queries(leader, source_a, django_assert_num_queries):
    ResponseFactory.create_batch(5, source=source_a)
    with django_assert_num_queries(2):  # user's roles, the responses with their joins
        rows = list(response_list(user=leader))
        for r in rows:
            _ = (
                r.source.slug,
                r.program.name,
                r.customer and r.customer.email,
                r.department and r.department.name,
            )


def test_the_list_page_uses_constant_queries(leader_client, source_a, django_assert_max_num_queries):
    ResponseFactory.create_batch(2, source=source_a)
    with django_assert_max_num_queries(20) as few:
        assert leader_client.get(reverse("feedback:response-list")).status_code == 200
    ResponseFactory.create_batch(20, source=source_a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        reply = leader_client.get(reverse("feedback:response-list"))
    assert reply.content.count(b'<tr id="response-') == 22


def test_the_list_page_paginates_and_keeps_filters(leader_client, source_a):
    ResponseFactory.create_batch(30, source=source_a, comment="slow refund")
    reply = leader_client.get(reverse("feedback:response-list") + "?q=refund")
    assert b"Page 1 of 2" in reply.content
    assert b"q=refund&amp;page=2" in reply.content


def test_the_list_page_answers_htmx_with_the_table_partial(leader_client, source_a):
    ResponseFactory(source=source_a)
    reply = leader_client.get(
        reverse("feedback:response-list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="response-table"
    )
    assert reply.content.lstrip().startswith(b'<div id="response-table">')


def test_the_list_page_shows_an_empty_state(ambassador_client):
    assert b"No responses yet" in ambassador_client.get(reverse("feedback:response-list")).content


def test_the_detail_escapes_html_and_shows_every_answer(ambassador_client, source_a):
    r = ResponseFactory(source=source_a, comment="<script>alert(1)</script>", answers={"Why?": "<i>x</i>"})
    reply = ambassador_client.get(reverse("feedback:response-detail", kwargs={"pk": r.pk}))
    assert reply.status_code == 200
    assert b"<script>alert(1)</script>" not in reply.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in reply.content
    assert b"&lt;i&gt;x&lt;/i&gt;" in reply.content
    assert b'data-testid="customer-card"' in reply.content


def test_a_response_of_another_department_is_404(ambassador_client, source_b):
    r = ResponseFactory(source=source_b)
    assert ambassador_client.get(reverse("feedback:response-detail", kwargs={"pk": r.pk})).status_code == 404


def test_finance_sees_no_customer_data(finance_client, source_a):
    ResponseFactory(source=source_a)
    assert finance_client.get("/api/v1/responses/").json()["count"] == 0


def test_a_logged_out_visitor_is_sent_to_login(source_a):
    r = ResponseFactory(source=source_a)
    reply = Client().get(reverse("feedback:response-detail", kwargs={"pk": r.pk}))
    assert reply.status_code == 302
