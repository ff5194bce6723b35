"""The JSON API under /api/v1 (SPEC 7): flask-smorest for schemas and the OpenAPI document."""

from __future__ import annotations

import json

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_smorest import Api
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from ..core.permissions import PUBLIC, requires
from ..extensions import csrf
from .problem import describe_validation, flatten_validation_messages, problem_response

API_PREFIX = "/api/v1"


class LimsApi(Api):
    """flask-smorest with RFC 9457 errors for the API and HTML error pages for everything else."""

    def handle_http_exception(self, error: HTTPException):
        from ..web import is_api_request, page_error

        if not is_api_request():
            return page_error(error)
        from ..extensions import db

        db.session.rollback()
        data = getattr(error, "data", None) or {}
        errors = None
        detail = error.description or error.name
        if "messages" in data or "errors" in data:
            errors = flatten_validation_messages(data.get("errors") or data.get("messages"))
            detail = describe_validation(errors)
            if error.code == 400 and "Invalid JSON" in str(errors):
                detail = "The request body is not valid JSON."
        elif "message" in data:
            detail = data["message"]
        if error.code == 500:
            detail = "The server could not complete the request; nothing was changed."
        return problem_response(error.code or 500, detail, errors=errors,
                                headers=data.get("headers"))


api = LimsApi()


def register_api(app: Flask) -> None:
    app.config.update(
        API_TITLE="ucmsc-lims API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    api.init_app(app, spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    from ..domains import domain_modules
    from . import audit as audit_api
    from . import auth as auth_api

    blueprints = [auth_api.blp, audit_api.blp] + [m.blp for m in domain_modules("api")]
    for blueprint in blueprints:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{blueprint.url_prefix or ''}")

    @app.route(f"{API_PREFIX}/docs")
    @requires(PUBLIC)
    def api_docs():
        """Human-readable API reference built from the OpenAPI document, no internet needed."""
        return render_template("api_docs.html", spec=api.spec.to_dict(), base=request.host_url)

    @app.errorhandler(500)
    def internal_error(error):
        return api.handle_http_exception(error)

    app.before_request(_refuse_input_the_parsers_miss)


def _refuse_input_the_parsers_miss() -> None:
    """Two kinds of bad input pass the request parsers and would end in a 500: JSON nested deeper
    than Python's recursion limit (the parser raises RecursionError) and the NUL character
    (PostgreSQL text cannot hold it). Both are refused here in plain words. Only a body with
    hundreds of brackets or an escaped NUL is parsed here; every other body goes straight on."""
    if not request.path.startswith(API_PREFIX):
        return
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        raise UnprocessableEntity(_("The request holds a NUL character, which no field accepts."))
    if not request.is_json:
        return
    data = request.get_data(cache=True)
    if data.count(b"[") + data.count(b"{") < 500 and b"\\u0000" not in data:
        return
    try:
        body = json.loads(data)
    except RecursionError:
        raise BadRequest(_("The request body is nested too deeply.")) from None
    except ValueError:
        return  # the view's parser answers malformed JSON as usual
    if _holds_nul(body):
        raise UnprocessableEntity(_("The request holds a NUL character, which no field accepts."))


def _holds_nul(body) -> bool:
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
