"""Trial records: the allocation list, patients, their doses, postponements and unblindings."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow

PATIENT_STATUSES = ("active", "withdrawn", "dead")
DOSE_STATES = (
    "scheduled", "cleared", "bag_ready", "verified", "infused", "postponed", "missed", "cancelled",
)
# SPEC 4.5: the one reason a blinded user ever reads for a postponement; either arm can have it.
BLINDED_POSTPONEMENT_REASON = "product not available"


class AllocationList(Base):
    """One stored allocation list (SPEC 4.4), generated here or imported. UNBLINDED ONLY.

    Only a SHA-256 fingerprint of a generation seed is kept, never the seed itself.
    """

    __tablename__ = "allocation_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(20))  # "generated" | "imported"
    seed_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    block_sizes: Mapped[str | None] = mapped_column(sa.String(40))
    strata: Mapped[str] = mapped_column(sa.Text)  # JSON list, in list order
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    created_by: Mapped[User] = relationship()


class Allocation(Base):
    """The arm behind a randomization number in a stratum. UNBLINDED ONLY (SPEC 4.4)."""

    __tablename__ = "allocation"
    __table_args__ = (
        sa.UniqueConstraint("stratum", "randomization_number"),
        sa.CheckConstraint("arm IN ('A', 'B')", name="arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("allocation_list.id"), index=True)
    stratum: Mapped[str] = mapped_column(sa.String(40))
    randomization_number: Mapped[int]
    arm: Mapped[str] = mapped_column(sa.String(1))
    block_number: Mapped[int | None]
    block_size: Mapped[int | None]
    patient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id"), unique=True)
    assigned_at: Mapped[datetime | None]


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'withdrawn', 'dead')", name="status"),
        sa.UniqueConstraint("stratum", "randomization_number"),
        # The follow-up worklist reads each visit week's patients by day 0 (migration 0010).
        sa.Index("ix_patient_day0_id", "day0", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[str] = mapped_column(sa.String(10), unique=True)
    # SPEC 3: the exact string the wristband's symbols carry (core.ids.patient_code).
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    hospital_record_number: Mapped[str] = mapped_column(sa.String(40))
    initials: Mapped[str] = mapped_column(sa.String(6))
    date_of_birth: Mapped[date]
    site: Mapped[str] = mapped_column(sa.String(40))
    weight_kg: Mapped[float]
    stratum: Mapped[str] = mapped_column(sa.String(40))
    randomization_number: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(12), default="active")
    heparin_contraindication: Mapped[bool] = mapped_column(default=False)
    # SPEC 4.4: which anticoagulant contraindications were recorded (JSON list of keys).
    contraindications: Mapped[str] = mapped_column(sa.Text, default="[]")
    eligibility_version: Mapped[str] = mapped_column(sa.String(40))
    eligibility_answers: Mapped[str] = mapped_column(sa.Text)  # JSON {item key: bool}
    day0: Mapped[date]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    status_changed_on: Mapped[date | None]
    status_reason: Mapped[str | None] = mapped_column(sa.Text)

    doses: Mapped[list[Dose]] = relationship(
        back_populates="patient", order_by="Dose.dose_number", lazy="selectin"
    )
    enrolled_by: Mapped[User] = relationship()

    @property
    def audit_id(self) -> str:
        return self.subject_id

    @property
    def randomization_label(self) -> str:
        from .randomization import format_randomization_number

        return format_randomization_number(self.stratum, self.randomization_number)


class Dose(Base):
    __tablename__ = "dose"
    __table_args__ = (
        sa.UniqueConstraint("patient_id", "dose_number"),
        sa.CheckConstraint("window_start <= due_on AND due_on <= window_end", name="window"),
        sa.Index("ix_dose_due_on_state", "due_on", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    dose_number: Mapped[int]
    due_on: Mapped[date]
    window_start: Mapped[date]
    window_end: Mapped[date]
    state: Mapped[str] = mapped_column(sa.String(12), default="scheduled")
    # The weight the bag was prepared for (bagging records it; the bedside compares to it).
    prepared_weight_kg: Mapped[float | None]
    cleared_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    clearance_signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    # SPEC 4.5: what blinded users read about a postponement; the true reason is elsewhere.
    postponed_reason_blinded: Mapped[str | None] = mapped_column(sa.String(80))
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="doses", lazy="joined")

    @property
    def audit_id(self) -> str:
        return f"{self.patient.subject_id}/{self.dose_number}"


class DosePostponement(Base):
    """One postponement: dates and the blinded reason for all; the true reason UNBLINDED ONLY."""

    __tablename__ = "dose_postponement"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_id: Mapped[int] = mapped_column(sa.ForeignKey("dose.id"), index=True)
    postponed_at: Mapped[datetime] = mapped_column(default=utcnow)
    postponed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    from_date: Mapped[date]
    to_date: Mapped[date | None]
    blinded_reason: Mapped[str] = mapped_column(sa.String(80))
    true_reason: Mapped[str] = mapped_column(sa.Text)

    dose: Mapped[Dose] = relationship()
    postponed_by: Mapped[User] = relationship()


class UnblindingRequest(Base):
    """SPEC 4.9: an emergency unblinding of one patient, requested and then confirmed by
    signature. Holds no arm: the arm is read from the allocation when shown."""

    __tablename__ = "unblinding_request"
    __table_args__ = (
        sa.CheckConstraint("status IN ('requested', 'confirmed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(12), default="requested")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    first_shown_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
