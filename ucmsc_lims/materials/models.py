"""Material lots received into the lab (SPEC 4.2, contract: table `material_lot`)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow

KINDS = ("medium", "supplement", "reagent", "anticoagulant", "saline", "container", "other")
STATUSES = ("quarantine", "released", "rejected")


class MaterialLot(Base):
    __tablename__ = "material_lot"
    __table_args__ = (
        sa.CheckConstraint("status IN ('quarantine', 'released', 'rejected')", name="status"),
        sa.CheckConstraint(
            "kind IN ('medium', 'supplement', 'reagent', 'anticoagulant', 'saline', "
            "'container', 'other')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The receipt number behind `code` (core.ids.material_lot_code).
    number: Mapped[int] = mapped_column(unique=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    supplier: Mapped[str] = mapped_column(sa.String(200))
    supplier_lot: Mapped[str] = mapped_column(sa.String(80))
    catalogue_number: Mapped[str | None] = mapped_column(sa.String(80))
    expires_on: Mapped[date]
    quantity: Mapped[str | None] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(12), default="quarantine")
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    status_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    status_at: Mapped[datetime | None]

    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    status_by: Mapped[User | None] = relationship(foreign_keys=[status_by_id])

    @property
    def audit_id(self) -> str:
        return self.code
