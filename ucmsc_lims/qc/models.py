"""Specifications (versioned), QC results and deviations (SPEC 4.3)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow


class Specification(Base):
    """One version of the release specification for a kind of lot."""

    __tablename__ = "specification"
    __table_args__ = (sa.UniqueConstraint("lot_kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_kind: Mapped[str] = mapped_column(sa.String(20))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    effective_from: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    items: Mapped[list[SpecItem]] = relationship(
        back_populates="specification", order_by="SpecItem.position", lazy="selectin")


class SpecItem(Base):
    """One test of a specification and its acceptance criterion."""

    __tablename__ = "spec_item"
    __table_args__ = (sa.UniqueConstraint("specification_id", "test"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    specification_id: Mapped[int] = mapped_column(sa.ForeignKey("specification.id"))
    position: Mapped[int]
    test: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(120))
    method: Mapped[str] = mapped_column(sa.String(120))
    unit: Mapped[str] = mapped_column(sa.String(20))
    # ">=", "<=", "<", ">" against `limit`, or "is" against `expected` (a word result).
    comparator: Mapped[str] = mapped_column(sa.String(4))
    limit: Mapped[float | None]
    # A limit read from a protocol setting when evaluated (the endotoxin limit, SPEC 1).
    limit_setting: Mapped[str | None] = mapped_column(sa.String(40))
    expected: Mapped[str | None] = mapped_column(sa.String(60))
    # SPEC 4.3: a test whose result may come after a conditional release (sterility).
    may_be_pending: Mapped[bool] = mapped_column(default=False)

    specification: Mapped[Specification] = relationship(back_populates="items")

    @property
    def criterion(self) -> str:
        if self.comparator == "is":
            return self.expected or ""
        return f"{self.comparator} {self.limit_value():g} {self.unit}".strip()

    def limit_value(self) -> float:
        if self.limit_setting:
            from ..protocol import service as protocol

            return float(protocol.value(self.limit_setting))
        return float(self.limit if self.limit is not None else 0.0)


class QcResult(Base):
    __tablename__ = "qc_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    specification_id: Mapped[int] = mapped_column(sa.ForeignKey("specification.id"))
    test: Mapped[str] = mapped_column(sa.String(40))
    method: Mapped[str] = mapped_column(sa.String(120))
    sample_id: Mapped[str] = mapped_column(sa.String(60))
    value_number: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(sa.String(60))
    unit: Mapped[str] = mapped_column(sa.String(20))
    instrument: Mapped[str | None] = mapped_column(sa.String(80))
    # SPEC 4.3: a passing result comes no earlier than the sample time + the test's duration.
    sampled_at: Mapped[datetime | None]
    performed_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    passed: Mapped[bool]
    criterion: Mapped[str] = mapped_column(sa.String(80))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id], lazy="joined")
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id], lazy="joined")

    @property
    def value_display(self) -> str:
        if self.value_text is not None:
            return self.value_text
        return f"{self.value_number:g} {self.unit}".strip()


class Deviation(Base):
    __tablename__ = "deviation"
    __table_args__ = (
        sa.CheckConstraint("state IN ('open', 'closed')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    qc_result_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qc_result.id"))
    # SPEC 4.2: a passage whose growth no cell can reach stops its lot until QA closes this.
    passage_id: Mapped[int | None] = mapped_column(sa.ForeignKey("passage.id"))
    title: Mapped[str] = mapped_column(sa.String(300))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # SPEC 4.3: a failing result after release raises an alert for QA.
    after_release: Mapped[bool] = mapped_column(default=False)
    investigation: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(10), default="open")
    # "use" (accepted for use with justification) or "reject" (the lot must not be used).
    disposition: Mapped[str | None] = mapped_column(sa.String(10))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    result: Mapped[QcResult | None] = relationship(lazy="joined")
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def audit_id(self) -> str:
        return self.number
