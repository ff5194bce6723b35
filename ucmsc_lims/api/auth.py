"""`POST /api/v1/auth/token`: trade a username and password for a bearer token."""

from __future__ import annotations

from flask import current_app, g
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import service
from ..core.permissions import PUBLIC, SIGNED_IN, requires
from ..extensions import limiter

blp = Blueprint("api_auth", __name__, url_prefix="/auth", description="Bearer tokens")


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.route("/token", methods=["POST"])
@requires(PUBLIC)
@limiter.limit(_login_limit)
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
def issue_token(body):
    """Issue a token (SPEC 7). Wrong credentials are 401; repeated failures lock the account."""
    user = service.check_credentials(body["username"], body["password"], purpose="api_token")
    raw, token = service.issue_token(user)
    service.record_sign_in(user, via="api_token")
    return {"token": raw, "expires_at": token.expires_at}


@blp.route("/token", methods=["DELETE"])
@requires(SIGNED_IN)
@blp.response(204)
def revoke_token():
    """Revoke the token this request was made with."""
    service.revoke_token(g.api_token, by=current_user)
    return None
