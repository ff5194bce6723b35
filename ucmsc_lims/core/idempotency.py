"""`Idempotency-Key` for API posts (SPEC 7): a retrying device gets the first reply.

The key is claimed in the request's own transaction, before the action runs. A concurrent
duplicate blocks on the unique index until the first commits, then replays its reply; if the
first fails, its claim rolls back with it and the retry runs afresh.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import Response, make_response, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .db import Base, utcnow
from .errors import DomainError


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_digest: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _find(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def _is_text(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";")[0].strip()
    return mimetype.startswith("text/") or mimetype.endswith(("json", "xml"))


def _stored_body(response: Response) -> str:
    """Text replies are kept as text; binary ones (a PNG or PDF label) as base64."""
    if _is_text(response.content_type):
        return response.get_data(as_text=True)
    return base64.b64encode(response.get_data()).decode()


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_digest != digest:
        raise DomainError("This Idempotency-Key was already used for a different request.")
    body: str | bytes = record.body or ""
    if not _is_text(record.content_type):
        body = base64.b64decode(body)
    response = make_response(body, record.status or 200)
    response.content_type = record.content_type or "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Honour an `Idempotency-Key` header on a POST view."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 255:
            raise DomainError("The Idempotency-Key header is longer than 255 characters.")
        digest = hashlib.sha256(
            request.method.encode() + request.path.encode() + request.get_data()
        ).hexdigest()
        existing = _find(current_user.id, key)
        if existing is not None:
            return _replay(existing, digest)
        record = IdempotencyRecord(user_id=current_user.id, key=key, request_digest=digest)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:
            # Another request with this key committed first: answer as it did.
            existing = _find(current_user.id, key)
            if existing is None or existing.status is None:
                raise DomainError("A request with this Idempotency-Key is still running.") from None
            return _replay(existing, digest)
        response = make_response(view(*args, **kwargs))
        record.status = response.status_code
        record.body = _stored_body(response)
        record.content_type = response.content_type
        db.session.flush()
        return response

    return wrapper
