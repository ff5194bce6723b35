"""A rendered label as a page's answer: a preview shown in place, a print as an attachment."""

from __future__ import annotations

from flask import Response, make_response


def label_response(body: bytes | str, mimetype: str, *, filename: str | None = None) -> Response:
    response = make_response(body)
    response.mimetype = mimetype
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
