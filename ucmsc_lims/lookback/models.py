"""Look-back cases (SPEC 4.9): what was affected, what was put on hold, and the per-patient
decisions whether the investigator must be told. UNBLINDED ONLY: every row ties a bag or a
patient to a lot, a donor or a material."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow
from ..core.esign import Signature

ORIGIN_KINDS = ("material_lot", "donor", "collection", "lot", "qc_result")


class LookbackCase(Base):
    __tablename__ = "lookback_case"
    __table_args__ = (
        sa.CheckConstraint(
            "origin_kind IN ('material_lot', 'donor', 'collection', 'lot', 'qc_result')",
            name="origin_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    origin_kind: Mapped[str] = mapped_column(sa.String(20))
    # The trace node id of the origin (`lot:G1234…-PB01`), so the case re-opens its trace.
    origin_ref: Mapped[str] = mapped_column(sa.String(80), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signature.id"))
    bags_held: Mapped[int] = mapped_column(default=0)

    opened_by: Mapped[User] = relationship()
    signature: Mapped[Signature] = relationship(lazy="joined")
    bags: Mapped[list[LookbackBag]] = relationship(back_populates="case",
                                                   order_by="LookbackBag.id")
    decisions: Mapped[list[LookbackDecision]] = relationship(back_populates="case",
                                                             order_by="LookbackDecision.id")

    @property
    def audit_id(self) -> str:
        return self.number


class LookbackBag(Base):
    """One affected bag as found when the case was opened, and whether the case held it."""

    __tablename__ = "lookback_bag"
    __table_args__ = (sa.UniqueConstraint("case_id", "bag_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("lookback_case.id"), index=True)
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"), index=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"))
    status_before: Mapped[str] = mapped_column(sa.String(20))
    infused: Mapped[bool] = mapped_column(default=False)
    held: Mapped[bool] = mapped_column(default=False)

    case: Mapped[LookbackCase] = relationship(back_populates="bags")
    bag = relationship("Bag", lazy="joined")
    patient = relationship("Patient", lazy="joined")
    lot = relationship("Lot")


class LookbackDecision(Base):
    """SPEC 4.9: for a patient already infused, whether the investigator must be told (telling
    is an emergency unblinding of that patient)."""

    __tablename__ = "lookback_decision"
    __table_args__ = (sa.UniqueConstraint("case_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("lookback_case.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    tell_investigator: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    case: Mapped[LookbackCase] = relationship(back_populates="decisions")
    patient = relationship("Patient", lazy="joined")
    decided_by: Mapped[User] = relationship()
