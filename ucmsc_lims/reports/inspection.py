"""Inspector grants (SPEC 2): an admin grants an inspector `unblinded` access for a stated
period; QA co-signs (meaning "inspector_grant"); from its start to its end the inspector's
account holds `blind.see_arm`; it ends by itself, or earlier when revoked. Every step audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit, esign
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..core.permissions import INSPECTOR
from ..extensions import db
from .models import InspectorGrant

# An inspection lasts days, not months: a longer need is a new, newly co-signed grant.
MAX_GRANT = timedelta(days=14)


def active_grant_exists(user_id: int, now: datetime | None = None) -> bool:
    """Whether a co-signed, unrevoked grant covers `now` (read by User.permissions)."""
    now = now or utcnow()
    with db.session.no_autoflush:
        found = db.session.scalar(sa.select(InspectorGrant.id).where(
            InspectorGrant.inspector_id == user_id, InspectorGrant.cosigned_by_id.is_not(None),
            InspectorGrant.revoked_at.is_(None), InspectorGrant.starts_at <= now,
            InspectorGrant.ends_at > now).limit(1))
    return found is not None


def may_view(user: User) -> bool:
    return user.can("inspector_grant.read")


def list_grants(*, by: User) -> list[InspectorGrant]:
    if not may_view(by):
        raise NotPermitted("Inspector grants are kept by the admin and QA.")
    return list(db.session.scalars(
        sa.select(InspectorGrant).order_by(InspectorGrant.id.desc()).limit(200)))


def get_grant(grant_id: int) -> InspectorGrant:
    grant = db.session.get(InspectorGrant, grant_id)
    if grant is None:
        raise NotFound("No such inspector grant.")
    return grant


def inspectors() -> list[User]:
    from ..auth.models import UserRole

    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == INSPECTOR, User.active.is_(True)).order_by(User.username)))


def grant_inspection(inspector: User, *, by: User, starts_at: datetime, ends_at: datetime,
                     reason: str) -> InspectorGrant:
    """The admin's grant; in force only once QA co-signs it."""
    if not by.can("inspector_grant.grant"):
        raise NotPermitted("Only an administrator grants inspection access.")
    if INSPECTOR not in inspector.role_names or inspector.role_names - {INSPECTOR}:
        raise DomainError(f"{inspector.username} is not an inspector account: only an account "
                          "holding the inspector role alone can be granted inspection access.")
    if inspector.id == by.id:
        raise NotPermitted("Nobody grants access to their own account.")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("Give the reason (the inspection, its authority and reference).",
                          field_errors={"reason": ["Required."]})
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise DomainError("Give the start and end with their time zone.")
    if ends_at <= starts_at:
        raise DomainError("The grant must end after it starts.",
                          field_errors={"ends_at": ["After the start."]})
    if ends_at - starts_at > MAX_GRANT:
        raise DomainError(f"A grant lasts at most {MAX_GRANT.days} days.",
                          field_errors={"ends_at": [f"At most {MAX_GRANT.days} days."]})
    if ends_at <= utcnow():
        raise DomainError("The grant would already be over.",
                          field_errors={"ends_at": ["In the future."]})
    grant = InspectorGrant(inspector_id=inspector.id, granted_by_id=by.id, reason=reason,
                           starts_at=starts_at, ends_at=ends_at)
    db.session.add(grant)
    audit.record(db.session, "inspector_grant.granted", grant, actor=by, reason=reason,
                 new={"inspector": inspector.username, "starts_at": starts_at,
                      "ends_at": ends_at})
    return grant


def cosign(grant: InspectorGrant, *, by: User, password: str) -> InspectorGrant:
    """QA's co-signature puts the grant in force for its period."""
    if not by.can("inspector_grant.cosign"):
        raise NotPermitted("Only QA co-signs an inspector grant.")
    now = utcnow()
    state = grant.state(now)
    if state != "awaiting_cosignature":
        raise Conflict(f"This grant is {state.replace('_', ' ')}: it cannot be co-signed.")
    if by.id == grant.granted_by_id:
        raise NotPermitted("The co-signer is not the one who granted.")
    signature = esign.sign(
        db.session, username=by.username, password=password, meaning="inspector_grant",
        entity=("inspector_grant", str(grant.id)), signer_must_be=by,
        content={"grant": grant.id, "inspector": grant.inspector.username,
                 "starts_at": grant.starts_at.isoformat(), "ends_at": grant.ends_at.isoformat(),
                 "reason": grant.reason})
    grant.cosigned_by_id = signature.id
    audit.record(db.session, "inspector_grant.cosigned", grant, actor=by,
                 old={"state": state}, new={"state": grant.state(now),
                                            "signature_id": signature.id})
    return grant


def revoke(grant: InspectorGrant, *, by: User, reason: str) -> InspectorGrant:
    if not by.can("inspector_grant.revoke"):
        raise NotPermitted("Only the admin or QA revokes an inspector grant.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the reason for revoking.", field_errors={"reason": ["Required."]})
    now = utcnow()
    state = grant.state(now)
    if state in ("revoked", "expired", "lapsed"):
        raise Conflict(f"This grant is already {state}.")
    grant.revoked_at, grant.revoked_by_id, grant.revoke_reason = now, by.id, reason
    audit.record(db.session, "inspector_grant.revoked", grant, actor=by, reason=reason,
                 old={"state": state}, new={"state": "revoked"})
    return grant
