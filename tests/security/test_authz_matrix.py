# ruff: noqa: E501  (the matrix is a table: one row per line reads best)
"""The authorization matrix: one declarative table, role × endpoint × method → status.

Columns follow ``ROLES``: CX leader, ambassador of department A, action owner (member of A),
finance partner, executive, anonymous, and a survey source (department A's bearer token, no
session). Objects of department B are out of scope for the ambassador and the owner: 404, so
existence does not leak. Anonymous browsers are redirected to the login page (302).

Adding a URL: add one ``Row`` (``test_every_url_pattern_is_in_the_matrix`` prints a template
for each missing one). ``kw`` builds the URL kwargs from the ``World`` (tests/security/conftest.py);
add a ``cached_property`` there for a new kind of object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.conftest import ROLES, World

Kw = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    """One endpoint and method; ``expect`` is one status per role, in ``ROLES`` order."""

    url: str  # URL name ("app:name"), or a literal path starting with "/"
    method: str
    expect: str
    kw: Kw | None = None
    data: Callable[[World], Any] | None = None
    as_json: bool = False
    htmx: bool = False
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def statuses(self) -> list[int]:
        if not self.expect:
            return [0] * len(ROLES)
        codes = [int(code) for code in self.expect.split()]
        assert len(codes) == len(ROLES), f"{self.url}: {len(codes)} statuses for {len(ROLES)} roles"
        return codes

    @property
    def id(self) -> str:
        return f"{self.method} {self.url}{' ' + self.note if self.note else ''}"


def pk(attr: str, name: str = "pk") -> Kw:
    return lambda w: {name: getattr(w, attr).pk}


def slug(attr: str, name: str = "slug") -> Kw:
    return lambda w: {name: getattr(w, attr).slug}


def number(attr: str) -> Kw:
    return lambda w: {"number": getattr(w, attr).number}


OTHER = "other department"
ACTUAL: Kw = lambda w: {"pk": w.measure_a.pk, "actual_pk": w.actual_a.pk}  # noqa: E731

# fmt: off
#                                                              leader amb owner fin exec anon source
MATRIX: list[Row] = [
    # --- project ------------------------------------------------------------------------------
    Row("home", "GET",                                          "302 302 302 302 302 302 302"),
    Row("healthz", "GET",                                       "200 200 200 200 200 200 200"),
    # issue 24: the API's map is for signed-in users unless CXGOV_PUBLIC_API_DOCS=1
    Row("api-schema", "GET",                                    "200 200 200 200 200 403 403"),
    Row("api-docs", "GET",                                      "200 200 200 200 200 302 302"),
    Row("api-redoc", "GET",                                     "200 200 200 200 200 302 302"),
    # --- accounts -----------------------------------------------------------------------------
    Row("login", "GET",                                         "200 200 200 200 200 200 200"),
    Row("login", "POST",                                        "200 200 200 200 200 200 200",
        data=lambda w: {"username": "nobody", "password": "wrong-password-1"}, note="wrong password"),
    Row("logout", "POST",                                       "302 302 302 302 302 302 302"),
    Row("logout", "GET",                                        "405 405 405 405 405 405 405"),
    Row("password_change", "GET",                               "200 200 200 200 200 302 302"),
    Row("password_change_done", "GET",                          "200 200 200 200 200 302 302"),
    Row("password_reset", "GET",                                "200 200 200 200 200 200 200"),
    Row("password_reset_done", "GET",                           "200 200 200 200 200 200 200"),
    Row("password_reset_confirm", "GET",                        "200 200 200 200 200 200 200",
        kw=lambda w: {"uidb64": "MQ", "token": "bad-token"}, note="invalid link"),
    Row("password_reset_complete", "GET",                       "200 200 200 200 200 200 200"),
    # --- admin (staff only; none of the roles is staff) ---------------------------------------
    Row("admin:index", "GET",                                   "302 302 302 302 302 302 302"),
    Row("admin:feedback_customer_changelist", "GET",            "302 302 302 302 302 302 302"),
    Row("admin:feedback_source_change", "GET",                  "302 302 302 302 302 302 302",
        kw=lambda w: {"object_id": w.source_a.pk}),
    # --- charter ------------------------------------------------------------------------------
    Row("charter:department-list", "GET",                       "200 200 200 200 200 302 302"),
    Row("charter:department-detail", "GET",                     "200 200 200 404 200 302 302",
        kw=slug("dept_a")),
    Row("charter:department-detail", "GET",                     "200 404 404 404 200 302 302",
        kw=slug("dept_b"), note=OTHER),
    # --- intake and sources API -------------------------------------------------------------
    Row("intake", "POST", "401 401 401 401 401 401 201", kw=slug("source_a"), as_json=True, data=lambda w: {"external_id": "m-1", "scores": {"nps": 3}}),
    Row("api-source-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-source-list", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"kind": "generic", "name": "New", "program": w.program_a.slug}),
    Row("api-source-rotate", "POST", "200 403 403 403 403 403 403", kw=slug("source_a")),
    Row("api-source-rotate", "POST", "200 403 403 403 403 403 403", kw=slug("source_b"), note=OTHER),
    Row("api-import-create", "POST", "400 403 403 403 403 403 403", kw=slug("source_a")),
    Row("api-import-create", "POST", "400 403 403 403 403 403 403", kw=slug("source_b"), note=OTHER),
    Row("api-import-detail", "GET", "200 200 200 404 200 403 403", kw=pk("import_job_a")),
    Row("api-import-detail", "GET", "200 404 404 404 200 403 403", kw=pk("import_job_b"), note=OTHER),
    Row("api-response-list", "GET", "200 200 200 200 200 403 403"),
    # --- reports API ---------------------------------------------------------------------------
    Row("reports-api:metrics", "GET", "400 400 400 400 400 403 403"),
    Row("reports-api:report-list", "GET", "200 200 200 200 200 403 403"),
    Row("reports-api:report-list", "POST", "400 400 400 400 400 403 403", as_json=True, data=lambda w: {}),
    Row("reports-api:report-detail", "GET", "200 404 404 404 200 403 403", kw=pk("report_a")),
    Row("reports-api:report-detail", "GET", "200 404 404 404 200 403 403", kw=pk("report_b"), note=OTHER),
    # --- charter -------------------------------------------------------------------------------
    Row("charter:charter", "GET", "200 200 200 200 200 302 302"),
    Row("charter:charter-pdf", "GET", "200 200 200 200 200 302 302"),
    Row("charter:charter-draft", "GET", "200 200 200 200 200 302 302"),
    Row("charter:inbox", "GET", "200 200 200 200 200 302 302"),
    Row("charter:inbox-read", "POST", "302 302 302 302 302 302 302"),
    Row("charter:inbox-preference", "POST", "302 302 302 302 302 302 302"),
    Row("charter:charter-versions", "GET", "200 200 200 200 200 302 302"),
    Row("charter:charter-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:charter-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:charter-version", "GET", "200 200 200 200 200 302 302", kw=number("charter_v1")),
    Row("charter:charter-transition", "POST", "400 400 400 400 400 302 302", kw=number("charter_v1")),
    Row("charter:charter-diff", "GET", "200 200 200 200 200 302 302"),
    Row("charter:raci-cell", "GET", "405 405 405 405 405 302 302", kw=lambda w: {"activity_pk": w.activity.pk, "role_pk": w.charter_role.pk}),
    Row("charter:raci-cell", "POST", "302 403 403 403 403 302 302", kw=lambda w: {"activity_pk": w.activity.pk, "role_pk": w.charter_role.pk}),
    Row("charter:priority-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:priority-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:priority-reorder", "POST", "302 403 403 403 403 302 302"),
    Row("charter:priority-edit", "GET", "200 403 403 403 403 302 302", kw=pk("priority")),
    Row("charter:priority-edit", "POST", "400 403 403 403 403 302 302", kw=pk("priority")),
    Row("charter:priority-move", "POST", "400 403 403 403 403 302 302", kw=pk("priority")),
    Row("charter:priorities-delete", "POST", "302 403 403 403 403 302 302", kw=pk("priority")),
    Row("charter:role-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:role-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:role-edit", "GET", "200 403 403 403 403 302 302", kw=pk("charter_role")),
    Row("charter:role-edit", "POST", "400 403 403 403 403 302 302", kw=pk("charter_role")),
    Row("charter:roles-delete", "POST", "302 403 403 403 403 302 302", kw=pk("charter_role")),
    Row("charter:activity-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:activity-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:activity-edit", "GET", "200 403 403 403 403 302 302", kw=pk("activity")),
    Row("charter:activity-edit", "POST", "400 403 403 403 403 302 302", kw=pk("activity")),
    Row("charter:raci-delete", "POST", "302 403 403 403 403 302 302", kw=pk("activity")),
    Row("charter:meeting-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:meeting-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:meeting-edit", "GET", "200 403 403 403 403 302 302", kw=pk("meeting")),
    Row("charter:meeting-edit", "POST", "400 403 403 403 403 302 302", kw=pk("meeting")),
    Row("charter:cadence-delete", "POST", "302 403 403 403 403 302 302", kw=pk("meeting")),
    Row("charter:decision-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:decision-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:decision-edit", "GET", "200 403 403 403 403 302 302", kw=pk("decision")),
    Row("charter:decision-edit", "POST", "400 403 403 403 403 302 302", kw=pk("decision")),
    Row("charter:decisions-delete", "POST", "302 403 403 403 403 302 302", kw=pk("decision")),
    Row("charter:goal-new", "GET", "200 200 404 404 404 302 302", kw=slug("dept_a"), note="dept A"),
    Row("charter:goal-new", "GET", "200 404 404 404 404 302 302", kw=slug("dept_b"), note=OTHER),
    Row("charter:goal-new", "POST", "400 400 404 404 404 302 302", kw=slug("dept_a"), note="dept A"),
    Row("charter:goal-new", "POST", "400 404 404 404 404 302 302", kw=slug("dept_b"), note=OTHER),
    Row("charter:goal-edit", "GET", "200 200 404 404 404 302 302", kw=pk("goal_a"), note="dept A"),
    Row("charter:goal-edit", "GET", "200 404 404 404 404 302 302", kw=pk("goal_b"), note=OTHER),
    Row("charter:goal-edit", "POST", "400 400 404 404 404 302 302", kw=pk("goal_a"), note="dept A"),
    Row("charter:goal-edit", "POST", "400 404 404 404 404 302 302", kw=pk("goal_b"), note=OTHER),
    Row("charter:goal-delete", "POST", "302 302 404 404 404 302 302", kw=pk("goal_a"), note="dept A"),
    Row("charter:goal-delete", "POST", "302 404 404 404 404 302 302", kw=pk("goal_b"), note=OTHER),
    Row("charter:journey", "GET", "200 200 200 200 200 302 302"),
    Row("charter:stage-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:stage-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:stage-edit", "GET", "200 403 403 403 403 302 302", kw=pk("stage")),
    Row("charter:stage-edit", "POST", "400 403 403 403 403 302 302", kw=pk("stage")),
    Row("charter:touchpoint-new", "GET", "200 403 403 403 403 302 302"),
    Row("charter:touchpoint-new", "POST", "400 403 403 403 403 302 302"),
    Row("charter:touchpoint-edit", "GET", "200 403 403 403 403 302 302", kw=pk("touchpoint_a")),
    Row("charter:touchpoint-edit", "POST", "400 403 403 403 403 302 302", kw=pk("touchpoint_a")),
    Row("charter:maturity", "GET", "200 200 200 200 200 302 302"),
    Row("charter:maturity-new", "GET", "200 403 403 403 200 302 302"),
    Row("charter:maturity-new", "POST", "400 403 403 403 400 302 302"),
    Row("charter:maturity-detail", "GET", "200 200 200 200 200 302 302", kw=pk("assessment")),
    # --- missions ------------------------------------------------------------------------------
    Row("missions:mission", "GET", "200 200 200 200 200 302 302"),
    Row("missions:mission-versions", "GET", "200 200 200 200 200 302 302"),
    Row("missions:mission-new", "GET", "200 403 403 403 403 302 302"),
    Row("missions:mission-new", "POST", "400 403 403 403 403 302 302"),
    Row("missions:mission-version", "GET", "200 200 200 200 200 302 302", kw=number("mission_v1")),
    Row("missions:mission-transition", "POST", "400 400 400 400 400 302 302", kw=number("mission_v1")),
    Row("missions:mission-diff", "GET", "200 200 200 200 200 302 302"),
    Row("missions:success", "GET", "200 200 200 200 200 302 302"),
    Row("missions:success-versions", "GET", "200 200 200 200 200 302 302"),
    Row("missions:success-new", "GET", "200 403 403 403 403 302 302"),
    Row("missions:success-new", "POST", "400 403 403 403 403 302 302"),
    Row("missions:success-version", "GET", "200 200 200 200 200 302 302", kw=number("success_v1")),
    Row("missions:success-transition", "POST", "400 400 400 400 400 302 302", kw=number("success_v1")),
    Row("missions:success-diff", "GET", "200 200 200 200 200 302 302"),
    Row("missions:measure-new", "GET", "200 403 403 403 403 302 302"),
    Row("missions:measure-new", "POST", "400 403 403 403 403 302 302"),
    Row("missions:measure-detail", "GET", "200 200 200 200 200 302 302", kw=pk("measure_a")),
    Row("missions:measure-edit", "GET", "200 403 403 403 403 302 302", kw=pk("measure_a")),
    Row("missions:measure-edit", "POST", "400 403 403 403 403 302 302", kw=pk("measure_a")),
    Row("missions:measure-validate", "POST", "403 403 403 302 403 302 302", kw=pk("measure_a"), data=lambda w: {"note": "Checked against the ledger."}),
    Row("missions:measure-actual", "POST", "400 400 400 400 400 302 302", kw=pk("measure_a")),
    Row("missions:measure-actual-change", "POST", "400 400 400 400 400 302 302", kw=ACTUAL),
    Row("missions:moments", "GET", "200 200 200 200 200 302 302"),
    Row("missions:moments", "POST", "400 400 400 400 400 302 302"),
    Row("missions:moment-feature", "POST", "302 403 403 403 403 302 302", kw=pk("moment_a")),
    # --- feedback: triage ----------------------------------------------------------------------
    Row("feedback:triage", "GET", "200 200 302 302 200 302 302"),
    Row("feedback:triage-bulk", "POST", "400 400 400 400 403 302 302"),
    Row("feedback:triage-undo", "POST", "400 400 400 400 400 302 302"),
    Row("feedback:my-actions", "GET", "200 200 200 200 200 302 302"),
    Row("feedback:action-detail", "GET", "200 200 200 404 200 302 302", kw=pk("action_a"), note="dept A"),
    Row("feedback:action-detail", "GET", "200 404 404 404 200 302 302", kw=pk("action_b"), note=OTHER),
    Row("feedback:action-operate", "POST", "302 302 302 404 403 302 302", kw=lambda w: {"pk": w.action_a.pk, "op": "priority"}, data=lambda w: {"priority": "high", "version": w.action_a.version}, note="dept A"),
    Row("feedback:action-operate", "POST", "302 404 404 404 403 302 302", kw=lambda w: {"pk": w.action_b.pk, "op": "priority"}, data=lambda w: {"priority": "high", "version": w.action_b.version}, note=OTHER),
    Row("feedback:systemic", "GET", "200 200 404 404 200 302 302"),
    Row("feedback:systemic-tell", "POST", "400 400 403 404 403 302 302", kw=pk("outer_action_a"), note="dept A"),
    Row("feedback:systemic-tell", "POST", "400 404 404 404 403 302 302", kw=pk("outer_action_b"), note=OTHER),
    Row("feedback:systemic-tell", "GET", "200 200 403 404 403 302 302", kw=pk("outer_action_a"), note="dept A"),
    Row("feedback:systemic-tell", "GET", "200 404 404 404 403 302 302", kw=pk("outer_action_b"), note=OTHER),
    Row("feedback:systemic-deliveries", "GET", "302 302 302 404 302 302 302", kw=pk("outer_action_a"), note="dept A: nothing sent yet"),
    Row("feedback:systemic-deliveries", "GET", "302 404 404 404 302 302 302", kw=pk("outer_action_b"), note=OTHER),
    Row("feedback:systemic-deliveries", "POST", "404 404 403 404 403 302 302", kw=pk("outer_action_a"), note="dept A: retry, nothing sent"),
    Row("feedback:systemic-deliveries", "POST", "404 404 404 404 403 302 302", kw=pk("outer_action_b"), note=OTHER),
    Row("feedback:unsubscribe", "GET", "400 400 400 400 400 400 400", kw=lambda w: {"token": "forged"}, note="public, bad token"),
    Row("feedback:unsubscribe", "POST", "400 400 400 400 400 400 400", kw=lambda w: {"token": "forged"}, note="public, bad token"),
    # --- reports -------------------------------------------------------------------------------
    Row("reports:dashboard", "GET", "200 200 200 200 200 302 302"),
    Row("reports:dashboard-export", "GET", "200 200 200 200 200 302 302", kw=lambda w: {"table": "departments"}),
    Row("reports:report-list", "GET", "200 200 200 200 200 302 302"),
    Row("reports:report-list", "POST", "200 200 200 200 200 302 302"),
    Row("reports:report-detail", "GET", "200 404 404 404 200 302 302", kw=pk("report_a"), note="dept A"),
    Row("reports:report-detail", "GET", "200 404 404 404 200 302 302", kw=pk("report_b"), note=OTHER),
    Row("reports:report-download", "GET", "404 404 404 404 404 302 302", kw=pk("report_a"), note="dept A"),
    Row("reports:report-download", "GET", "404 404 404 404 404 302 302", kw=pk("report_b"), note=OTHER),
    Row("reports:roi-assumptions", "GET", "200 200 200 200 200 302 302"),
    Row("reports:roi-assumption-create", "GET", "200 403 403 200 403 302 302"),
    Row("reports:roi-assumption-create", "POST", "400 403 403 400 403 302 302"),
    Row("reports:roi-assumption-edit", "GET", "200 403 403 200 403 302 302", kw=pk("roi_assumption")),
    Row("reports:roi-assumption-edit", "POST", "400 403 403 400 403 302 302", kw=pk("roi_assumption")),
    Row("reports:roi-assumption-validate", "POST", "403 403 403 302 403 302 302", kw=pk("roi_assumption"), data=lambda w: {f"assumption-{w.roi_assumption.pk}-note": "Checked."}),
    Row("reports:validation-queue", "GET", "403 403 403 200 403 302 302"),
    Row("reports:validation-validate", "POST", "403 403 403 302 403 302 302", kw=lambda w: {"kind": "assumption", "pk": w.roi_assumption.pk}, data=lambda w: {f"assumption-{w.roi_assumption.pk}-note": "Checked."}),
    Row("reports:validation-validate", "POST", "403 403 403 400 403 302 302", kw=lambda w: {"kind": "measure", "pk": w.measure_a.pk}, data=lambda w: {}, note="no note"),
    Row("reports:validation-return", "POST", "403 403 403 302 403 302 302", kw=lambda w: {"kind": "measure", "pk": w.measure_a.pk}, data=lambda w: {f"measure-{w.measure_a.pk}-question": "Which ledger?"}),
    # --- governance API (charter, missions) -------------------------------------------------------
    Row("api-charter-contents", "GET", "200 200 200 200 200 403 403"),
    Row("api-charter-raci", "POST", "200 403 403 403 403 403 403", as_json=True, data=lambda w: {"activity": w.activity.pk, "role": w.charter_role.pk, "value": "R"}),
    Row("api-charter-published", "GET", "404 404 404 404 404 403 403"),
    Row("api-charter-versions", "GET", "200 200 200 200 200 403 403"),
    Row("api-charter-versions", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"purpose": "Make CX a discipline, v2."}),
    Row("api-charter-version", "GET", "200 200 200 200 200 403 403", kw=number("charter_v1")),
    Row("api-charter-version", "PATCH", "200 403 403 403 403 403 403", kw=number("charter_v1"), as_json=True, data=lambda w: {"purpose": "Edited."}),
    Row("api-charter-submit", "POST", "200 403 403 403 403 403 403", kw=number("charter_v1"), as_json=True, data=lambda w: {}),
    Row("api-charter-approve", "POST", "403 403 403 403 409 403 403", kw=number("charter_v1"), as_json=True, data=lambda w: {}),
    Row("api-charter-return", "POST", "403 403 403 403 409 403 403", kw=number("charter_v1"), as_json=True, data=lambda w: {"comment": "No."}),
    Row("api-priority-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-priority-list", "POST", "400 400 400 400 400 403 403", as_json=True, data=lambda w: {"title": "New", "department": w.dept_a.slug, "success_measure": w.measure_a.pk}),
    Row("api-priority-reorder", "POST", "400 400 400 400 400 403 403", as_json=True, data=lambda w: {"ids": [w.priority.pk]}),
    Row("api-priority-detail", "GET", "200 200 200 200 200 403 403", kw=pk("priority")),
    Row("api-priority-detail", "PATCH", "200 403 403 403 403 403 403", kw=pk("priority"), as_json=True, data=lambda w: {"title": "Renamed"}),
    Row("api-priority-detail", "DELETE", "204 403 403 403 403 403 403", kw=pk("priority")),
    Row("api-priority-move", "POST", "200 403 403 403 403 403 403", kw=pk("priority"), as_json=True, data=lambda w: {"direction": "up"}),
    Row("api-department-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-department-detail", "GET", "200 200 200 404 200 403 403", kw=slug("dept_a"), note="dept A"),
    Row("api-department-detail", "GET", "200 404 404 404 200 403 403", kw=slug("dept_b"), note=OTHER),
    Row("api-department-goals", "POST", "201 201 404 404 404 403 403", kw=slug("dept_a"), as_json=True, data=lambda w: {"title": "Faster"}, note="dept A"),
    Row("api-department-goals", "POST", "201 404 404 404 404 403 403", kw=slug("dept_b"), as_json=True, data=lambda w: {"title": "Faster"}, note=OTHER),
    Row("api-goal-detail", "GET", "200 200 200 404 200 403 403", kw=pk("goal_a"), note="dept A"),
    Row("api-goal-detail", "GET", "200 404 404 404 200 403 403", kw=pk("goal_b"), note=OTHER),
    Row("api-goal-detail", "PATCH", "200 200 404 404 404 403 403", kw=pk("goal_a"), as_json=True, data=lambda w: {"title": "Renamed"}, note="dept A"),
    Row("api-goal-detail", "PATCH", "200 404 404 404 404 403 403", kw=pk("goal_b"), as_json=True, data=lambda w: {"title": "Renamed"}, note=OTHER),
    Row("api-goal-detail", "DELETE", "204 404 404 404 404 403 403", kw=pk("goal_b"), note=OTHER),
    Row("api-journey-stage-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-journey-stage-list", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"name": "Renewal"}),
    Row("api-journey-stage-detail", "GET", "200 200 200 200 200 403 403", kw=pk("stage")),
    Row("api-journey-stage-detail", "PATCH", "200 403 403 403 403 403 403", kw=pk("stage"), as_json=True, data=lambda w: {"name": "Renamed"}),
    Row("api-touchpoint-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-touchpoint-list", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"stage": w.stage.pk, "name": "Invoice", "slug": "invoice", "department": w.dept_a.slug}),
    Row("api-touchpoint-detail", "GET", "200 200 200 200 200 403 403", kw=pk("touchpoint_a")),
    Row("api-touchpoint-detail", "PATCH", "200 403 403 403 403 403 403", kw=pk("touchpoint_a"), as_json=True, data=lambda w: {"name": "Renamed"}),
    Row("api-mission-published", "GET", "404 404 404 404 404 403 403"),
    Row("api-mission-versions", "GET", "200 200 200 200 200 403 403"),
    Row("api-mission-versions", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"statement": "We answer on the first call, v2."}),
    Row("api-mission-version", "GET", "200 200 200 200 200 403 403", kw=number("mission_v1")),
    Row("api-mission-version", "PATCH", "200 403 403 403 403 403 403", kw=number("mission_v1"), as_json=True, data=lambda w: {"statement": "Edited."}),
    Row("api-mission-submit", "POST", "200 403 403 403 403 403 403", kw=number("mission_v1"), as_json=True, data=lambda w: {}),
    Row("api-mission-approve", "POST", "403 403 403 403 409 403 403", kw=number("mission_v1"), as_json=True, data=lambda w: {}),
    Row("api-mission-return", "POST", "403 403 403 403 409 403 403", kw=number("mission_v1"), as_json=True, data=lambda w: {"comment": "No."}),
    Row("api-success-published", "GET", "404 404 404 404 404 403 403"),
    Row("api-success-versions", "GET", "200 200 200 200 200 403 403"),
    Row("api-success-versions", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"narrative": "CX drives retention, v2."}),
    Row("api-success-version", "GET", "200 200 200 200 200 403 403", kw=number("success_v1")),
    Row("api-success-version", "PATCH", "200 403 403 403 403 403 403", kw=number("success_v1"), as_json=True, data=lambda w: {"narrative": "Edited."}),
    Row("api-success-submit", "POST", "200 403 403 403 403 403 403", kw=number("success_v1"), as_json=True, data=lambda w: {}),
    Row("api-success-approve", "POST", "403 403 403 403 409 403 403", kw=number("success_v1"), as_json=True, data=lambda w: {}),
    Row("api-success-return", "POST", "403 403 403 403 409 403 403", kw=number("success_v1"), as_json=True, data=lambda w: {"comment": "No."}),
    Row("api-success-measure-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-success-measure-list", "POST", "201 403 403 403 403 403 403", as_json=True, data=lambda w: {"name": "Churn", "kind": "other"}),
    Row("api-success-measure-detail", "GET", "200 200 200 200 200 403 403", kw=pk("measure_a")),
    Row("api-success-measure-detail", "PATCH", "200 403 403 403 403 403 403", kw=pk("measure_a"), as_json=True, data=lambda w: {"name": "Renamed"}),
    Row("api-success-measure-actuals", "GET", "200 200 200 200 200 403 403", kw=pk("measure_a")),
    Row("api-success-measure-actuals", "POST", "201 403 403 201 403 403 403", kw=pk("measure_a"), as_json=True, data=lambda w: {"date": "2026-01-31", "value": "5"}),
    Row("api-success-measure-actual-detail", "PATCH", "200 403 403 200 403 403 403", kw=ACTUAL, as_json=True, data=lambda w: {"reason": "typo", "value": "6"}),
    Row("api-success-measure-validate", "POST", "403 403 403 400 403 403 403", kw=pk("measure_a"), as_json=True, data=lambda w: {}, note="no note"),
    Row("api-moment-list", "GET", "200 200 200 200 200 403 403"),
    # finance sees no department: it cannot credit department A (issue 24)
    Row("api-moment-list", "POST", "201 201 201 400 201 403 403", as_json=True, data=lambda w: {"title": "Great call", "story": "We called back.", "department": w.dept_a.slug}),
    Row("api-moment-detail", "GET", "200 200 200 200 200 403 403", kw=pk("moment_a")),
    Row("api-moment-feature", "POST", "200 403 403 403 403 403 403", kw=pk("moment_a"), as_json=True, data=lambda w: {"featured": True}),
    # --- feedback API: actions ---------------------------------------------------------------------
    Row("api-action-list", "GET", "200 200 200 200 200 403 403"),
    Row("api-action-detail", "GET", "200 200 200 404 200 403 403", kw=pk("action_a"), note="dept A"),
    Row("api-action-detail", "GET", "200 404 404 404 200 403 403", kw=pk("action_b"), note=OTHER),
    # --- charter history ------------------------------------------------------------------------------
    Row("charter:charter-history", "GET", "200 200 200 200 200 302 302"),
    # --- feedback: programs, sources, imports, responses ------------------------------------------
    Row("feedback:program-list", "GET", "200 200 200 200 200 302 302"),
    Row("feedback:program-create", "GET", "200 403 403 403 403 302 302"),
    Row("feedback:program-create", "POST", "200 403 403 403 403 302 302"),
    Row("feedback:program-edit", "GET", "200 403 403 403 403 302 302", kw=slug("program_a"), note="dept A"),
    Row("feedback:program-edit", "GET", "200 403 403 403 403 302 302", kw=slug("program_b"), note=OTHER),
    Row("feedback:program-edit", "POST", "200 403 403 403 403 302 302", kw=slug("program_a"), note="dept A"),
    Row("feedback:program-sources", "GET", "200 200 200 404 200 302 302", kw=slug("program_a"), note="dept A"),
    Row("feedback:program-sources", "GET", "200 404 404 404 200 302 302", kw=slug("program_b"), note=OTHER),
    Row("feedback:source-rotate", "POST", "200 403 403 403 403 302 302", kw=lambda w: {"slug": w.program_a.slug, "source_slug": w.source_a.slug}, note="dept A"),
    Row("feedback:source-rotate", "POST", "200 403 403 403 403 302 302", kw=lambda w: {"slug": w.program_b.slug, "source_slug": w.source_b.slug}, note=OTHER),
    Row("feedback:import-upload", "GET", "200 403 403 403 403 302 302", kw=lambda w: {"slug": w.program_a.slug, "source_slug": w.source_a.slug}, note="dept A"),
    Row("feedback:import-upload", "POST", "200 403 403 403 403 302 302", kw=lambda w: {"slug": w.program_a.slug, "source_slug": w.source_a.slug}, note="dept A"),
    Row("feedback:import-upload", "GET", "200 403 403 403 403 302 302", kw=lambda w: {"slug": w.program_b.slug, "source_slug": w.source_b.slug}, note=OTHER),
    Row("feedback:import-detail", "GET", "200 200 200 404 200 302 302", kw=pk("import_job_a"), note="dept A"),
    Row("feedback:import-detail", "GET", "200 404 404 404 200 302 302", kw=pk("import_job_b"), note=OTHER),
    Row("feedback:import-start", "POST", "302 403 403 403 403 302 302", kw=pk("import_job_a"), note="dept A"),
    Row("feedback:import-start", "POST", "302 403 403 403 403 302 302", kw=pk("import_job_b"), note=OTHER),
    Row("feedback:manual-entry", "GET", "200 200 200 200 200 302 302"),
    Row("feedback:manual-entry", "POST", "200 200 200 200 200 302 302"),
    Row("feedback:manual-entry", "POST", "302 302 302 200 302 302 302", data=lambda w: {"program": w.program_a.pk, "channel": "phone", "comment": "Called.", "customer_email": w.customer_b.email}, note="dept A program, dept B customer's e-mail"),
    Row("feedback:manual-entry", "POST", "302 302 302 200 302 302 302", data=lambda w: {"program": w.program_a.pk, "channel": "phone", "comment": "Called.", "customer_external_id": w.customer_b.external_id}, note="dept A program, dept B customer's id"),
    Row("feedback:manual-entry", "POST", "302 200 200 200 302 302 302", data=lambda w: {"program": w.program_b.pk, "channel": "phone", "comment": "Called."}, note="dept B program"),
    Row("feedback:response-list", "GET", "200 200 200 200 200 302 302"),
    Row("feedback:response-detail", "GET", "200 200 200 404 200 302 302", kw=pk("response_a"), note="dept A"),
    Row("feedback:response-detail", "GET", "200 404 404 404 200 302 302", kw=pk("response_b"), note=OTHER),
    # --- feedback: routing, SLAs, policy, pipeline ------------------------------------------------
    Row("feedback:routing", "GET", "200 403 403 403 403 302 302"),
    Row("feedback:theme-create", "GET", "200 403 403 403 403 302 302"),
    Row("feedback:theme-create", "POST", "400 403 403 403 403 302 302"),
    Row("feedback:theme-edit", "GET", "200 403 403 403 403 302 302", kw=pk("theme")),
    Row("feedback:theme-edit", "POST", "400 403 403 403 403 302 302", kw=pk("theme")),
    Row("feedback:rule-create", "GET", "200 403 403 403 403 302 302"),
    Row("feedback:rule-create", "POST", "400 403 403 403 403 302 302"),
    Row("feedback:rule-edit", "GET", "200 403 403 403 403 302 302", kw=pk("routing_rule")),
    Row("feedback:rule-edit", "POST", "400 403 403 403 403 302 302", kw=pk("routing_rule")),
    Row("feedback:rule-move", "POST", "400 403 403 403 403 302 302", kw=pk("routing_rule")),
    Row("feedback:rule-delete", "POST", "302 403 403 403 403 302 302", kw=pk("routing_rule")),
    Row("feedback:sla-edit", "GET", "200 403 403 403 403 302 302", kw=lambda w: {"priority": "normal", "loop": "inner"}),
    Row("feedback:sla-edit", "POST", "400 403 403 403 403 302 302", kw=lambda w: {"priority": "normal", "loop": "inner"}),
    Row("feedback:policy-save", "POST", "400 403 403 403 403 302 302"),
    Row("feedback:outer-loop-save", "POST", "400 403 403 403 403 302 302"),
    Row("feedback:pipeline-health", "GET", "200 403 403 403 403 302 302"),
    Row("feedback:pipeline-rerun", "POST", "302 403 403 403 403 302 302"),
    # --- privacy requests (staff only; none of the roles is staff) -------------------------------
    Row("feedback:privacy", "GET", "403 403 403 403 403 302 302"),
    Row("feedback:privacy", "POST", "403 403 403 403 403 302 302", data=lambda w: {"customer": w.customer_a.email, "action": "export"}),
    # --- rows with meaningful data (the empty-form rows above stop at validation) ---------------
    Row("feedback:triage-bulk", "POST", "302 302 302 404 403 302 302", data=lambda w: {"ids": [w.action_a.pk], "operation": "priority", "priority": "high"}, note="dept A"),
    Row("feedback:triage-bulk", "POST", "302 404 404 404 403 302 302", data=lambda w: {"ids": [w.action_b.pk], "operation": "priority", "priority": "high"}, note=OTHER),
    Row("missions:measure-actual", "POST", "302 403 403 302 403 302 302", kw=pk("measure_a"), data=lambda w: {"date": "2026-01-31", "value": "5"}, note="valid"),
    Row("missions:measure-actual-change", "POST", "302 403 403 302 403 302 302", kw=ACTUAL, data=lambda w: {"reason": "typo", "value": "6"}, note="valid"),
    Row("missions:mission-transition", "POST", "302 403 403 403 403 302 302", kw=number("mission_v1"), data=lambda w: {"action": "submit"}, note="submit"),
    Row("charter:charter-transition", "POST", "302 403 403 403 403 302 302", kw=number("charter_v1"), data=lambda w: {"action": "submit"}, note="submit"),
]
# fmt: on

#: URL keys covered by a rule instead of rows: the admin (staff only, checked by the rows above).
COVERED_BY_RULE = [re.compile(r"^admin:"), re.compile(r"^admin/")]


def url_keys(patterns: list[Any] | None = None, prefix: str = "", ns: str | None = None) -> Iterator[str]:
    """Every URL pattern of the project as ``namespace:name`` (or its route when unnamed)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ns
            if pattern.namespace:
                inner = f"{ns}:{pattern.namespace}" if ns else pattern.namespace
            yield from url_keys(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                yield f"{ns}:{pattern.name}" if ns else pattern.name
            else:
                yield f"{ns}:{prefix}{pattern.pattern}" if ns else f"{prefix}{pattern.pattern}"


CELLS = sum(len(ROLES) for _ in MATRIX)  # reported in the summary: matrix cells checked


def _request(world: World, row: Row, role: str) -> Any:
    client = world.client_for(role)
    url = row.url if row.url.startswith("/") else reverse(row.url, kwargs=row.kw(world) if row.kw else None)
    headers = dict(row.extra)
    if row.htmx:
        headers["HX-Request"] = "true"
    data = row.data(world) if row.data else None
    method = getattr(client, row.method.lower())
    if row.as_json:
        return method(url, data=json.dumps(data or {}), content_type="application/json", headers=headers)
    if data is None and row.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return method(url, headers=headers)
    return method(url, data=data or {}, headers=headers)


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
def test_each_role_gets_the_status_the_matrix_says(fast_world: World, row: Row) -> None:
    """One row, seven roles; each request runs in its own savepoint so a write by one role
    (a delete, a transition) never changes what the next role sees."""
    if row.kw:
        row.kw(fast_world)  # make the row's objects outside the savepoints
    if row.data:
        row.data(fast_world)
    fast_world.source_a  # noqa: B018  (the source role's token)
    wrong: dict[str, str] = {}
    for role, expected in zip(ROLES, row.statuses, strict=True):
        savepoint = transaction.savepoint()
        try:
            response = _request(fast_world, row, role)
            got = response.status_code
            anonymous_get = role in ("anonymous", "source") and row.method == "GET" and row.url != "home"
            if got == expected == 302 and anonymous_get and "login" not in response["Location"]:
                wrong[role] = f"redirected to {response['Location']}, not to the login page"
            if got != expected:
                wrong[role] = f"{got} (expected {expected})"
        finally:
            transaction.savepoint_rollback(savepoint)
    assert not wrong, f"{row.id}: {wrong}"


def test_every_url_pattern_is_in_the_matrix() -> None:
    covered = {row.url for row in MATRIX}
    missing = sorted(
        key
        for key in set(url_keys())
        if key not in covered and not any(rule.search(key) for rule in COVERED_BY_RULE)
    )
    template = "\n".join(f'    Row("{key}", "GET", "200 200 200 200 200 302 302"),' for key in missing)
    assert not missing, f"URL patterns missing from the authorization matrix; add rows like:\n{template}"


def test_out_of_department_rows_never_reveal_existence_to_the_scoped_roles() -> None:
    """A department B object answers the ambassador and owner of A with 404, or with the very
    status they get for department A's object (a role-level refusal says nothing about B)."""
    twins = {(row.url, row.method): row for row in MATRIX if not row.note.startswith(OTHER)}
    for row in MATRIX:
        if not row.note.startswith(OTHER):
            continue
        twin = twins.get((row.url, row.method))
        for role in ("ambassador", "owner"):
            status = dict(zip(ROLES, row.statuses, strict=True))[role]
            if status in (404, 405):
                continue
            assert twin is not None, f"{row.id}: {role} gets {status}, and there is no department A row"
            assert status == dict(zip(ROLES, twin.statuses, strict=True))[role], f"{row.id} as {role}"


def test_every_url_with_an_object_in_it_has_an_other_department_row() -> None:
    """A department-owned object addressed by the URL must be tried from the wrong department."""
    department_owned = {row.url for row in MATRIX if row.note.startswith(OTHER)}
    needing = {row.url for row in MATRIX if row.kw is not None and row.note.startswith("dept")}
    assert needing <= department_owned, sorted(needing - department_owned)


# --- customer data on every customer-bearing page (issue 24, finding 1) ----------------------
#: Pages and API reads that show a customer's name, e-mail or id, as (URL name, kwargs).
CUSTOMER_PAGES: list[tuple[str, Kw | None]] = [
    ("feedback:response-list", None),
    ("feedback:response-detail", pk("response_a")),
    ("api-response-list", None),
    ("feedback:triage", None),
    ("feedback:action-detail", pk("action_a")),
    ("api-action-detail", pk("action_a")),
    ("feedback:import-detail", pk("import_job_a")),
    ("reports:dashboard", None),
]


@pytest.mark.parametrize("role", ["ambassador", "owner"])
def test_manual_entry_with_another_departments_customer_leaks_it_on_no_page(
    fast_world: World, role: str
) -> None:
    """As a scoped role of department A, log feedback with department B's customer's e-mail
    and id, then read every customer-bearing page and API: B's customer (name, id, record)
    appears nowhere, and the new response is not linked to them."""
    from feedback.models import Response

    w = fast_world
    w.response_b, w.action_a, w.action_b, w.import_job_a  # noqa: B018  (B's customer exists, A has pages)
    client = w.client_for(role)
    reply = client.post(
        reverse("feedback:manual-entry"),
        {
            "program": w.program_a.pk,
            "channel": "phone",
            "comment": "Called about a refund.",
            "customer_email": w.customer_b.email,
            "customer_external_id": w.customer_b.external_id,
        },
    )
    assert reply.status_code == 302
    entered = Response.objects.get(entered_by__username=role)
    assert entered.customer_id != w.customer_b.pk
    for name, kw in CUSTOMER_PAGES:
        page = client.get(reverse(name, kwargs=kw(w) if kw else None))
        if page.status_code != 200:
            continue  # the role may not open this page at all (the matrix above says which)
        text = page.content.decode()
        assert w.customer_b.name not in text, f"{name} shows department B's customer's name to {role}"
        assert f'"id": {w.customer_b.pk},' not in text.replace('"id":', '"id": ').replace("  ", " ")
