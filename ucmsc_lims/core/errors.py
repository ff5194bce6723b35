"""Domain errors: plain-words messages that pages flash and the API returns as problem+json."""

from __future__ import annotations


class DomainError(Exception):
    """A refused action. `status` is the HTTP status the web layers answer with."""

    status = 422
    title = "Unprocessable request"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotPermitted(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class InvalidTransition(DomainError):
    status = 409
    title = "Conflict"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class AuthenticationFailed(DomainError):
    status = 401
    title = "Unauthorized"
