"""`Idempotency-Key` for API posts (SPEC 7): a retrying device gets the first reply.

The key is claimed in the request's own transaction, before the action runs, and the reply is
kept on the claim, so what a retry gets depends on how the first request ended:

- a success commits with the request's work: claim, reply and record together, or none;
- a refusal (a DomainError, or a 4xx reply of the view's own such as the bedside's failed
  checks) is a first reply too: the work is rolled back, then the claim and the refusal are
  committed in a short transaction of their own, and a retry gets the same refusal even if
  the record has changed since;
- anything else (a 5xx, a body the parser refused, a race the database refused) leaves no
  claim, so the retry runs afresh.

A duplicate sent while the first is running waits on the claim (PostgreSQL's unique index,
SQLite's write lock) and then replays the first reply. A claim seen without a reply belongs to
a request still running that committed part of its work early (a refused signature counts its
failure at once): the duplicate gets 409 "still in progress", never an empty 200.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import Response, current_app, make_response, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .db import Base, utcnow
from .errors import Conflict, DomainError


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


def request_digest(method: str, path: str, body: bytes) -> str:
    """What a key is bound to: the same key with another request is refused, not replayed."""
    return hashlib.sha256(method.encode() + path.encode() + body).hexdigest()


def _find(user_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def _is_text(content_type: str | None) -> bool:
    mimetype = (content_type or "").split(";")[0].strip()
    return mimetype.startswith("text/") or mimetype.endswith(("json", "xml"))


def _keep_reply(record: IdempotencyRecord, response: Response) -> None:
    """Text replies are kept as text; binary ones (a PNG or PDF label) as base64."""
    record.status = response.status_code
    record.content_type = response.content_type
    if _is_text(response.content_type):
        record.body = response.get_data(as_text=True)
    else:
        record.body = base64.b64encode(response.get_data()).decode()


def _still_running() -> Conflict:
    return Conflict(_("The first request with this Idempotency-Key is still in progress: wait "
                      "for its answer, then send it again."))


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_digest != digest:
        raise DomainError(_("This Idempotency-Key was already used for a different request."))
    if record.status is None:
        raise _still_running()
    body: str | bytes = record.body or ""
    if not _is_text(record.content_type):
        body = base64.b64decode(body)
    response = make_response(body, record.status)
    response.content_type = record.content_type or "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _keep_refusal(user_id: int, key: str, digest: str, response: Response) -> None:
    """After the refused request's rollback, commit its claim with the refusal at once.

    The claim may be there already: a request that committed early (a counted sign-in
    failure) committed its claim with it. If a retry claimed the key in the moment between
    the rollback and this commit, the retry's reply stands."""
    db.session.rollback()
    record = _find(user_id, key)
    if record is None:
        record = IdempotencyRecord(user_id=user_id, key=key, request_digest=digest)
        db.session.add(record)
    elif record.status is not None:
        db.session.rollback()
        return
    _keep_reply(record, response)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def idempotent(view):
    """Honour an `Idempotency-Key` header on a POST view."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 255:
            raise DomainError(_("The Idempotency-Key header is longer than 255 characters."))
        user_id = current_user.id
        digest = request_digest(request.method, request.path, request.get_data())
        existing = _find(user_id, key)
        if existing is not None:
            return _replay(existing, digest)
        record = IdempotencyRecord(user_id=user_id, key=key, request_digest=digest)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:
            # A request with this key ended while this one waited for the claim: answer as it
            # did (PostgreSQL; on SQLite the write lock orders them and the lookup above sees it).
            existing = _find(user_id, key)
            if existing is None:
                raise _still_running() from None
            return _replay(existing, digest)
        try:
            response = make_response(view(*args, **kwargs))
        except DomainError as refusal:
            # The app's own problem+json for it, which also rolls the request's work back.
            response = make_response(current_app.handle_user_exception(refusal))
            _keep_refusal(user_id, key, digest, response)
            return response
        if 400 <= response.status_code < 500:
            _keep_refusal(user_id, key, digest, response)
        elif response.status_code < 400:
            if record not in db.session:
                # The view rolled back and went on (a near-miss kept before a refusal): claim
                # again in the transaction that now holds its work.
                record = IdempotencyRecord(user_id=user_id, key=key, request_digest=digest)
                db.session.add(record)
            _keep_reply(record, response)
            db.session.flush()
        return response

    return wrapper
