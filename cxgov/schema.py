"""OpenAPI post-processing: document the error statuses every endpoint really answers.

drf-spectacular documents the success reply of each operation; integrators also need the
errors they must handle, and the API fuzz suite (tests/security/test_api_fuzz.py) refuses any
status the schema does not list. The rules below are the ones DRF and our views follow
everywhere, so adding them once here is truer than repeating ``extend_schema`` per view:

- 400 with field errors when the operation takes a body or query parameters;
- 403 when it needs a signed-in user (DRF answers 403, not 401, because session
  authentication comes first; intake, which answers 401, documents itself);
- 404 when the path names an object (out-of-scope objects are 404 too) or the list is paged
  (``?page=`` past the end is 404).

An operation's own ``extend_schema(responses=...)`` always wins. Enabled through
``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`` (see docs/operations.md).
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Errors by field, e.g. {"scores.nps": ["..."]}, or {"detail": "..."}.',
    "additionalProperties": True,
}
_DESCRIPTIONS = {
    "400": "Invalid input: errors by field.",
    "403": "Not signed in, or not allowed to do this.",
    "404": "No such object in your scope (or no such page).",
}
_METHODS = ("get", "put", "patch", "post", "delete")


def error_statuses_for(*, path: str, operation: dict[str, Any]) -> list[str]:
    params = operation.get("parameters", [])
    query = [p for p in params if p.get("in") == "query"]
    statuses = []
    if operation.get("requestBody") or [p for p in query if p.get("name") != "page"]:
        statuses.append("400")
    if any(requirement for requirement in operation.get("security", [{}])):
        statuses.append("403")
    if "{" in path or any(p.get("name") == "page" for p in query):
        statuses.append("404")
    return statuses


def document_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook (signature fixed by drf-spectacular)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorResponse", ERROR_SCHEMA)
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if not operation:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses_for(path=path, operation=operation):
                responses.setdefault(
                    status,
                    {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": ref}}},
                )
    return result
