"""RFC 9457 problem details: every API error is `application/problem+json`."""

from __future__ import annotations

from typing import Any

from flask import Response, json
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_TYPE = "about:blank"


def problem_response(
    status: int, detail: str, *, errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE,
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_validation_messages(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests field errors under their location ('json', 'query'); clients want fields."""
    if set(messages) <= {"json", "query", "form", "headers", "view_args", "files", "cookies"}:
        flat: dict[str, Any] = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                flat.update(location_errors)
            else:
                flat["_body"] = location_errors
        return flat
    return messages


def describe_validation(errors: dict[str, Any]) -> str:
    if "_schema" in errors or "_body" in errors:
        first = errors.get("_schema") or errors.get("_body")
        if isinstance(first, list) and first:
            return str(first[0])
    fields = ", ".join(sorted(str(name) for name in errors))
    return f"The request has invalid or missing fields: {fields}."
