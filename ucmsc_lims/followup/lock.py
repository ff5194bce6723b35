"""The follow-up database lock (SPEC 4.10, 5): signed once, after it no follow-up record changes.

The lock is signed with the meaning "database_lock"; only after it may an unblinded export carry
the arm (see `export.may_see_arm`).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit, esign
from ..core.errors import Conflict, DomainError
from ..extensions import db
from .models import ClinicalEvent, DatabaseLock, LabResult, Visit


def current_lock() -> DatabaseLock | None:
    return db.session.scalar(sa.select(DatabaseLock).order_by(DatabaseLock.id).limit(1))


def check_unlocked() -> None:
    lock = current_lock()
    if lock is not None:
        raise Conflict(
            f"The follow-up database was locked on {lock.locked_at:%Y-%m-%d}; "
            "follow-up records can no longer change."
        )


def lock_database(*, username: str, password: str, reason: str, by: User) -> DatabaseLock:
    """Lock the follow-up database, signed with the meaning `database_lock` (SPEC 4.10, 5).

    After the lock no visit, lab or event changes, and an unblinded export may carry the arm.
    """
    check_unlocked()
    if not reason.strip():
        raise DomainError("Say why the database is locked (for example: final analysis).",
                          field_errors={"reason": ["Required."]})
    content = {
        "visits": db.session.scalar(sa.select(sa.func.count()).select_from(Visit)),
        "labs": db.session.scalar(
            sa.select(sa.func.count()).select_from(LabResult).where(LabResult.voided_at.is_(None))
        ),
        "events": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ClinicalEvent)
            .where(ClinicalEvent.voided_at.is_(None))
        ),
        "reason": reason.strip(),
    }
    signature = esign.sign(
        db.session, username=username, password=password, meaning="database_lock",
        entity=("followup_database", "followup"), content=content, signer_must_be=by,
    )
    lock = DatabaseLock(signature_id=signature.id, locked_by_id=by.id, reason=reason.strip())
    db.session.add(lock)
    audit.record(db.session, "followup.database_locked", lock, actor=by, reason=reason.strip(),
                 new=content)
    return lock


def lock_signature(lock: DatabaseLock) -> esign.Signature:
    return db.session.get(esign.Signature, lock.signature_id)

