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

The intake URL is a plain Django view (it must see raw bytes), so drf-spectacular cannot see it;
``INTAKE_OPERATION`` documents it here from the public contract in DESIGN.md.
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
INTAKE_PATH = "/api/v1/intake/{slug}/"


def _reply(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


INTAKE_OPERATION: dict[str, Any] = {
    "operationId": "intake_create",
    "summary": "The one URL a survey source posts to",
    "description": (
        "Authenticated per source: `Authorization: Bearer <token>` for generic sources, the vendor's "
        "signature header where the vendor signs. The body is the vendor's own payload; for generic "
        "sources see the `generic` body in the public contract."
    ),
    "tags": ["Intake"],
    "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "external_id": {"type": "string"},
                        "submitted_at": {"type": "string", "format": "date-time"},
                        "customer": {"type": "object"},
                        "scores": {"type": "object"},
                        "comment": {"type": "string"},
                        "touchpoint": {"type": "string"},
                        "department": {"type": "string"},
                        "answers": {"type": "object"},
                    },
                }
            }
        },
    },
    "security": [{"sourceBearer": []}],
    "responses": {
        "200": _reply("Already had it (same response, same id), or ignored (not a response event)."),
        "201": _reply("Created."),
        "202": _reply("Accepted; details will be fetched from the vendor's API."),
        "400": _reply("Invalid payload: errors by field."),
        "401": _reply("Bad or missing token or signature."),
        "404": _reply("No such active source."),
        "405": _reply("Use POST."),
        "413": _reply("Body larger than 1 MB."),
        "415": _reply("Wrong content type for this source."),
        "429": _reply("Too many deliveries a minute for this source; see Retry-After."),
        "503": _reply("Database briefly unavailable; see Retry-After."),
    },
}


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
    schemes = result["components"].setdefault("securitySchemes", {})
    schemes.setdefault(
        "sourceBearer", {"type": "http", "scheme": "bearer", "description": "A source's token"}
    )
    result.setdefault("paths", {}).setdefault(INTAKE_PATH, {}).setdefault("post", INTAKE_OPERATION)
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
