"""Electronic signatures (SPEC 5): re-entered credentials, a meaning, UTC time, a content hash.

One service that release, bedside confirmation, unblinding and look-back all use.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import audit
from .db import Base, utcnow
from .errors import NotPermitted

if TYPE_CHECKING:
    from ..auth.models import User

# The meanings a signature can carry; a signature names exactly one.
MEANINGS = {
    "lot_release": "Lot release",
    "lot_rejection": "Lot rejection",
    "lot_hold": "Lot hold",
    "lot_recall": "Lot recall",
    "lot_hold_disposition": "Lot hold disposition",
    "deviation_disposition": "Deviation disposition",
    "excursion_disposition": "Excursion disposition",
    "fill_verification": "Fill verification",
    "bag_release": "Bag release for issue",
    "bag_hold_disposition": "Bag hold disposition",
    "dose_clearance": "Dose clearance",
    "bedside_verification": "Verified bag to patient",
    "emergency_unblinding": "Emergency unblinding",
    "lookback_hold": "Look-back hold",
    "inspector_grant": "Unblinded inspection access",
    "database_lock": "Database lock",
    "batch_record_review": "Batch record reviewed",
    "specification_approval": "Specification approved",
}


class Signature(Base):
    __tablename__ = "signature"
    __table_args__ = (sa.Index("ix_signature_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    meaning: Mapped[str] = mapped_column(sa.String(40))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(80))
    content_hash: Mapped[str] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def meaning_text(self) -> str:
        return MEANINGS.get(self.meaning, self.meaning)


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(audit.canonical_json(content).encode()).hexdigest()


def sign(
    session,
    *,
    username: str,
    password: str,
    meaning: str,
    entity: tuple[str, str],
    content: dict[str, Any],
    signer_must_be: User | None = None,
    blinded_visible: bool = True,
) -> Signature:
    """Re-authenticate the signer and bind the signature to a hash of the signed content.

    Credentials are checked first: a wrong password is refused and counts towards lock-out.
    `signer_must_be` demands that the signer is the signed-in user (a release is signed by
    the person releasing); the bedside's second person passes None and is checked by its caller.
    """
    from ..auth.service import check_credentials

    if meaning not in MEANINGS:
        raise ValueError(f"unknown signature meaning {meaning!r}")
    user = check_credentials(username, password, purpose=f"signature:{meaning}")
    if signer_must_be is not None and user.id != signer_must_be.id:
        raise NotPermitted("Sign with your own account: the signer must be the signed-in user.")
    kind, ident = entity
    signature = Signature(
        user=user, printed_name=user.full_name, meaning=meaning, entity_type=kind,
        entity_id=str(ident), content_hash=content_hash(content),
    )
    session.add(signature)
    audit.record(
        session, "signature.applied", signature, actor=user, blinded_visible=blinded_visible,
        new={"meaning": meaning, "entity_type": kind, "entity_id": str(ident),
             "content_hash": signature.content_hash, "printed_name": user.full_name},
    )
    return signature


def signatures_for(session, entity_type: str, entity_id: str) -> list[Signature]:
    return list(session.scalars(
        sa.select(Signature)
        .where(Signature.entity_type == entity_type, Signature.entity_id == str(entity_id))
        .order_by(Signature.signed_at)
    ))
