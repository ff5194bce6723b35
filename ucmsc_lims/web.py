"""Request life cycle shared by pages and API: request id, sign-in, the permission guard,
one commit per request, security headers and error pages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Flask,
    Request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, current_user, logout_user
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import Forbidden, HTTPException, RequestEntityTooLarge

from .core.clock import format_local
from .core.db import LARGEST_ID
from .core.errors import Conflict, DomainError
from .core.permissions import PUBLIC, ROLE_LABELS, SIGNED_IN, required_permission, requires
from .extensions import db

bp = Blueprint("web", __name__)

# Endpoints owned by Flask or flask-smorest that are public by nature.
PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def id_arg(name: str) -> int | None:
    """A query-string id (a page key): None unless it is a whole number an id column can hold,
    so a mistyped or oversized value reads the first page instead of reaching the database."""
    text = request.args.get(name, "")
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    value = int(text)
    return value if 0 < value <= LARGEST_ID else None


@bp.route("/")
@requires(SIGNED_IN)
def home():
    return render_template("home.html")


@bp.route("/health")
@requires(PUBLIC)
def health():
    """Liveness for a load balancer: answers without touching the session."""
    return {"status": "ok"}


class LimsRequest(Request):
    """SPEC 6: file uploads (multipart forms: logger and allocation CSVs) are held to
    MAX_UPLOAD_LENGTH, every other body to MAX_CONTENT_LENGTH, before either is read."""

    @property
    def max_content_length(self) -> int | None:
        if self.mimetype == "multipart/form-data" and current_app:
            return current_app.config["MAX_UPLOAD_LENGTH"]
        return super().max_content_length


def install_request_hooks(app: Flask) -> None:
    app.request_class = LimsRequest
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.before_request(_assign_request_id)
    app.before_request(_load_api_user)
    app.before_request(_enforce_idle_timeout)
    app.before_request(_enforce_declared_permission)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(IntegrityError, _concurrent_change)
    app.register_error_handler(DataError, _unstorable_input)
    app.register_error_handler(OverflowError, _unstorable_input)
    app.context_processor(_template_globals)
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["dict_without"] = _dict_without


def _assign_request_id() -> None:
    # Per-request state starts clean even where an app context outlives one request (tests).
    for name in ("_login_user", "api_token"):
        g.pop(name, None)
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex


def _load_api_user() -> None:
    """The API reads only bearer tokens, never the session cookie, so it needs no CSRF token."""
    if not is_api_request():
        return
    from .auth.service import token_from_header

    token = token_from_header(request.headers.get("Authorization"))
    g._login_user = token.user if token else AnonymousUserMixin()
    g.api_token = token


def _enforce_idle_timeout():
    """SPEC 6: a page session idle longer than the timeout is signed out."""
    if is_api_request() or not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    last_seen = session.get("last_seen")
    session["last_seen"] = now
    timeout = current_app.config["IDLE_TIMEOUT"].total_seconds()
    if last_seen is not None and now - float(last_seen) > timeout:
        from .auth.service import record_sign_out

        record_sign_out(current_user._get_current_object())
        logout_user()
        session.clear()
        db.session.commit()
        flash(_("You were signed out after a period of inactivity."), "warning")
        return redirect(url_for("auth.login", next=request.full_path))
    return None


def _enforce_declared_permission():
    """Deny by default (SPEC 2): an endpoint that declares no permission is refused."""
    endpoint = request.endpoint
    if endpoint is None:  # 404 and 405 are raised by routing before we get here
        return None
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    permission = required_permission(current_app.view_functions.get(endpoint))
    if permission is None:
        raise Forbidden("This page declares no permission and is closed.")
    if permission == PUBLIC:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            from .core.errors import AuthenticationFailed

            raise AuthenticationFailed(
                "Sign in first: send a bearer token from /api/v1/auth/token."
            )
        return current_app.login_manager.unauthorized()
    if permission != SIGNED_IN and not current_user.can(permission):
        raise Forbidden(_("Your role does not allow this."))
    return None


def _finish_transaction(response):
    """One commit per request, after the view succeeded; anything else is rolled back."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["X-Request-ID"] = g.get("request_id", "")
    if current_user and current_user.is_authenticated:
        headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def _domain_error(error: DomainError):
    db.session.rollback()
    if is_api_request():
        from .api.problem import problem_response

        return problem_response(error.status, error.message, errors=error.field_errors or None)
    return render_template("error.html", status=error.status, title=error.title,
                           message=error.message), error.status


def _concurrent_change(error: IntegrityError):
    """A unique or foreign key rule refused the change: most often two requests raced for the
    same number or record. Nothing was saved; answer 409 in plain words, never a 500."""
    current_app.logger.warning("integrity error answered 409: %s", error.orig)
    return _domain_error(Conflict(_(
        "Another change reached this record at the same moment; nothing was saved. "
        "Reload and try again."
    )))


def _unstorable_input(error: DataError | OverflowError):
    """The database refused a value (a NUL character, a text too long, a number SQLite cannot
    hold): a 422, never a 500."""
    current_app.logger.warning("data error answered 422: %s", getattr(error, "orig", error))
    return _domain_error(DomainError(_(
        "The input holds a character or a length that no field accepts; nothing was saved."
    )))


def _too_large(_error: RequestEntityTooLarge):
    """A 413 in plain words, as a page or as problem+json, never a 500."""
    upload = request.mimetype == "multipart/form-data"
    limit = request.max_content_length or 0
    if upload:
        message = _("The file is larger than the server accepts (at most %(mb)s MB); nothing "
                    "was saved.", mb=f"{limit / 1024 / 1024:g}")
    else:
        message = _("The request is larger than the server accepts (at most %(mb)s MB); "
                    "nothing was saved.", mb=f"{limit / 1024 / 1024:g}")
    db.session.rollback()
    if is_api_request():
        from .api.problem import problem_response

        return problem_response(413, message)
    return render_template("error.html", status=413, title=_("Request too large"),
                           message=message), 413


def page_error(error: HTTPException):
    db.session.rollback()
    return render_template("error.html", status=error.code, title=error.name,
                           message=error.description), error.code or 500


def _template_globals():
    from .navigation import has_endpoint, nav_items

    return {
        "role_labels": ROLE_LABELS,
        "nav_items": nav_items,
        "has_endpoint": has_endpoint,
        "now_utc": lambda: datetime.now(UTC),
    }


def _dict_without(mapping: dict, *keys: str) -> dict:
    return {k: v for k, v in mapping.items() if k not in keys}
