"""Donor, eligibility tests and cord collections (SPEC 4.1)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow

ELIGIBILITY = ("pending", "eligible", "ineligible")
COLLECTION_STATUSES = ("received", "accepted", "rejected")


class Donor(Base):
    """The mother, known only by a pseudonymous code."""

    __tablename__ = "donor"
    __table_args__ = (
        sa.CheckConstraint("eligibility IN ('pending', 'eligible', 'ineligible')",
                           name="eligibility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    consent_date: Mapped[date]
    consent_form_version: Mapped[str] = mapped_column(sa.String(40))
    consent_obtained_by: Mapped[str] = mapped_column(sa.String(200))
    eligibility: Mapped[str] = mapped_column(sa.String(12), default="pending")
    determined_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    determined_on: Mapped[date | None]
    determination_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    determined_by: Mapped[User | None] = relationship(foreign_keys=[determined_by_id])
    tests: Mapped[list[DonorTest]] = relationship(
        back_populates="donor", order_by="DonorTest.id", lazy="selectin")
    collections: Mapped[list[Collection]] = relationship(
        back_populates="donor", order_by="Collection.id")

    @property
    def audit_id(self) -> str:
        return self.code


class DonorTest(Base):
    """One screening result: the questionnaire or an infectious-disease marker."""

    __tablename__ = "donor_test"

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(sa.ForeignKey("donor.id"), index=True)
    test: Mapped[str] = mapped_column(sa.String(40))
    result: Mapped[str] = mapped_column(sa.String(20))
    method: Mapped[str | None] = mapped_column(sa.String(120))
    tested_on: Mapped[date]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    donor: Mapped[Donor] = relationship(back_populates="tests")
    recorded_by: Mapped[User] = relationship()


class Collection(Base):
    """One cord donation, identified by its ISBT 128 DIN."""

    __tablename__ = "collection"
    __table_args__ = (
        sa.CheckConstraint("status IN ('received', 'accepted', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    din: Mapped[str] = mapped_column(sa.String(13), unique=True)
    din_flags: Mapped[str] = mapped_column(sa.String(2), default="00")
    donor_id: Mapped[int] = mapped_column(sa.ForeignKey("donor.id"), index=True)
    collected_at: Mapped[datetime]
    delivery: Mapped[str] = mapped_column(sa.String(200))
    site: Mapped[str] = mapped_column(sa.String(120))
    transport_container: Mapped[str] = mapped_column(sa.String(120))
    transport_temperature_c: Mapped[float]
    received_at: Mapped[datetime]
    receipt_condition: Mapped[str] = mapped_column(sa.String(200))
    received_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="received")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)

    donor: Mapped[Donor] = relationship(back_populates="collections", lazy="joined")
    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def audit_id(self) -> str:
        return self.din

    @property
    def quarantined(self) -> bool:
        """SPEC 4.1: a collection from a donor not `eligible` stays in quarantine."""
        return self.donor.eligibility != "eligible" or self.status != "accepted"
