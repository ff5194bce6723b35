"""Bedside verifications, near-misses and infusions (SPEC 4.8); an infusion's adverse events
are follow-up's clinical events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Base, utcnow

GO, NO_GO = "GO", "NO_GO"
OUTCOMES = ("completed", "stopped")
# SPEC 4.8: nurse 1's two attestations as the record, the audit trail and the API spell them.
YES, NO, NOT_ASKED = "yes", "no", "not asked"


def attested(answer: bool | None) -> str:
    """An attestation as recorded: NULL means the client never asked the nurse (an API body
    without the field), which must never read as a yes."""
    if answer is None:
        return NOT_ASKED
    return YES if answer else NO


class Verification(Base):
    """Nurse 1's scans and the checks' answer; nurse 2's confirmation when it comes.

    Every scanned string gets a row, an unknown bag code included (SPEC 4.8), so the scanned
    text is kept as typed and the bag and patient may be absent. `identity_confirmed` and
    `bag_intact` are nurse 1's attestations (true, false, or NULL when not asked), made by
    `nurse` at `created_at`; nurse 2's confirmation and the start read them, never write them.
    """

    __tablename__ = "verification"
    __table_args__ = (
        sa.Index("ix_verification_bag_confirmed", "bag_id", "confirmed_at"),
        sa.CheckConstraint("decision IN ('GO', 'NO_GO')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    nurse_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    ward_code: Mapped[str | None] = mapped_column(sa.String(40))
    patient_code_scanned: Mapped[str] = mapped_column(sa.String(120))
    bag_code_scanned: Mapped[str] = mapped_column(sa.String(120))
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    bag_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bag.id"))
    dose_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dose.id"))
    weight_kg: Mapped[float | None]
    identity_confirmed: Mapped[bool | None]
    bag_intact: Mapped[bool | None]
    decision: Mapped[str] = mapped_column(sa.String(5))
    checks: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    # Nurse 2 (SPEC 4.8): a different user, who scanned both again and signed.
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    confirm_checks: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)

    nurse = relationship("User", foreign_keys=[nurse_id], lazy="joined")
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id], lazy="joined")
    bag = relationship("Bag", foreign_keys=[bag_id])
    patient = relationship("Patient", foreign_keys=[patient_id])
    dose = relationship("Dose", foreign_keys=[dose_id])

    @property
    def is_go(self) -> bool:
        return self.decision == GO

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["ok"]]

    @property
    def attestations(self) -> dict[str, str]:
        return {"identity_confirmed": attested(self.identity_confirmed),
                "bag_intact": attested(self.bag_intact)}


class NearMiss(Base):
    """Every NO-GO, at whichever step it came (SPEC 4.8), listed for QA."""

    __tablename__ = "near_miss"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stage: Mapped[str] = mapped_column(sa.String(20))  # verification | confirmation | start
    verification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("verification.id"),
                                                        index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    ward_code: Mapped[str | None] = mapped_column(sa.String(40))
    patient_code_scanned: Mapped[str | None] = mapped_column(sa.String(120))
    bag_code_scanned: Mapped[str | None] = mapped_column(sa.String(120))
    failed: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)

    user = relationship("User", lazy="joined")
    # The list shows nurse 1's attestations beside each NO-GO.
    verification = relationship("Verification", lazy="joined")


class Infusion(Base):
    """The one infusion of a bag (SPEC 4.8: a bag is infused at most once)."""

    __tablename__ = "infusion"
    __table_args__ = (
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('completed', 'stopped')",
                           name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"), unique=True)
    verification_id: Mapped[int] = mapped_column(sa.ForeignKey("verification.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    dose_id: Mapped[int] = mapped_column(sa.ForeignKey("dose.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    volume_infused_ml: Mapped[float | None]
    rate_ml_per_h: Mapped[float | None]
    vitals_before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    vitals_after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    premedication: Mapped[str | None] = mapped_column(sa.String(500))
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    stop_reason: Mapped[str | None] = mapped_column(sa.String(500))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    verification: Mapped[Verification] = relationship()
    bag = relationship("Bag", foreign_keys=[bag_id])
    patient = relationship("Patient", foreign_keys=[patient_id])
    dose = relationship("Dose", foreign_keys=[dose_id])
    started_by = relationship("User", foreign_keys=[started_by_id])
    ended_by = relationship("User", foreign_keys=[ended_by_id])
    # SPEC 4.8, 4.10: the infusion's adverse events are the patient's (follow-up's
    # ClinicalEvent with this infusion_id), not a copy; voided ones are left out.
    adverse_events = relationship(
        "ClinicalEvent", viewonly=True, order_by="ClinicalEvent.id",
        primaryjoin="and_(Infusion.id == ClinicalEvent.infusion_id, "
                    "ClinicalEvent.kind == 'adverse_event', ClinicalEvent.voided_at.is_(None))")
