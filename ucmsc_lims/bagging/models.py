"""Bags, their label issues, their unblinded source, the fill sessions they are made in and the
product holds that keep them from use.

A bag row exists from the moment its label is prepared (status `pending_fill`, not a SPEC 4.7
state: the label is printed FIRST and scanned at filling, SPEC 4.5); filling moves it to
`filled`, the first state of the SPEC 4.7 table. A prepared bag that will never be filled (the
dose was postponed) is `void`, with its label voided.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow

if TYPE_CHECKING:
    from ..core.esign import Signature
    from ..manufacturing.models import Lot
    from ..materials.models import MaterialLot
    from ..trial.models import Dose, Patient

# Bags that still hold their dose: one per dose (contract: dose_id unique among these).
INACTIVE_STATES = ("void", "returned", "destroyed")


class FillSession(Base):
    """SPEC 4.5: the day's due doses of both arms, filled together in one room."""

    __tablename__ = "fill_session"
    __table_args__ = (sa.UniqueConstraint("day", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    room: Mapped[str] = mapped_column(sa.String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    started_by: Mapped[User] = relationship()

    @property
    def audit_id(self) -> str:
        return f"{self.day.isoformat()}/{self.room}"


class Bag(Base):
    __tablename__ = "bag"
    __table_args__ = (
        sa.Index(
            "uq_bag_dose_id_active", "dose_id", unique=True,
            postgresql_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
            sqlite_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
        ),
        sa.Index("ix_bag_patient_id_bag_id", "patient_id", "bag_id"),
        sa.Index("ix_bag_status_bag_id", "status", "bag_id"),
        sa.CheckConstraint("label_issue BETWEEN 1 AND 99", name="label_issue"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SPEC 3: random, non-sequential, carries no arm (core.ids.new_bag_id).
    bag_id: Mapped[str] = mapped_column(sa.String(10), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"))
    dose_id: Mapped[int] = mapped_column(sa.ForeignKey("dose.id"), index=True)
    fill_session_id: Mapped[int] = mapped_column(sa.ForeignKey("fill_session.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending_fill")
    held_from: Mapped[str | None] = mapped_column(sa.String(20))
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The current label: core.ids.bag_code(bag_id, label_issue), what its symbols carry.
    label_issue: Mapped[int] = mapped_column(default=1)
    code: Mapped[str] = mapped_column(sa.String(13), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    filled_at: Mapped[datetime | None]
    filled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    volume_ml: Mapped[int | None]
    prepared_weight_kg: Mapped[float | None]
    fill_verified_at: Mapped[datetime | None]
    fill_verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    fill_signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    release_signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    # A location code (custody sets it at hand-off).
    destination_ward: Mapped[str | None] = mapped_column(sa.String(40))

    patient: Mapped[Patient] = relationship(lazy="joined")
    dose: Mapped[Dose] = relationship(lazy="joined")
    fill_session: Mapped[FillSession] = relationship()
    filled_by: Mapped[User | None] = relationship(foreign_keys=[filled_by_id])
    fill_verified_by: Mapped[User | None] = relationship(foreign_keys=[fill_verified_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    label_issues: Mapped[list[BagLabelIssue]] = relationship(
        back_populates="bag", order_by="BagLabelIssue.issue")

    @property
    def audit_id(self) -> str:
        return self.bag_id

    @property
    def subject_id(self) -> str:
        return self.patient.subject_id

    @property
    def dose_number(self) -> int:
        return self.dose.dose_number


class BagLabelIssue(Base):
    """One issue of a bag's label (SPEC 4.6): printed, then applied at filling or voided."""

    __tablename__ = "bag_label_issue"
    __table_args__ = (sa.UniqueConstraint("bag_id", "issue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"))
    issue: Mapped[int]
    code: Mapped[str] = mapped_column(sa.String(13), unique=True)
    printed_at: Mapped[datetime | None]
    printed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    print_count: Mapped[int] = mapped_column(default=0)
    # The expiry the printed label shows (SPEC 4.6); never later than the bag's own.
    printed_expiry: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    bag: Mapped[Bag] = relationship(back_populates="label_issues")
    printed_by: Mapped[User | None] = relationship(foreign_keys=[printed_by_id])


class BagSource(Base):
    """What is in the bag (SPEC 4.5). UNBLINDED ONLY: read by unblinded services alone."""

    __tablename__ = "bag_source"
    __table_args__ = (
        sa.CheckConstraint("arm IN ('A', 'B')", name="arm"),
        sa.CheckConstraint(
            "(arm = 'A' AND lot_id IS NOT NULL AND cells > 0) OR "
            "(arm = 'B' AND lot_id IS NULL AND cells IS NULL)", name="source_matches_arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"), unique=True)
    arm: Mapped[str] = mapped_column(sa.String(1))
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    cells: Mapped[float | None]
    cells_per_ml: Mapped[float | None]
    # The saline lot scanned as the source of a placebo bag.
    source_material_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("material_lot.id"), index=True)
    anticoagulant_material_id: Mapped[int] = mapped_column(
        sa.ForeignKey("material_lot.id"), index=True)
    saline_material_id: Mapped[int] = mapped_column(sa.ForeignKey("material_lot.id"), index=True)
    container_material_id: Mapped[int] = mapped_column(
        sa.ForeignKey("material_lot.id"), index=True)

    bag: Mapped[Bag] = relationship()
    lot: Mapped[Lot | None] = relationship()
    source_material: Mapped[MaterialLot | None] = relationship(foreign_keys=[source_material_id])
    anticoagulant: Mapped[MaterialLot] = relationship(foreign_keys=[anticoagulant_material_id])
    saline: Mapped[MaterialLot] = relationship(foreign_keys=[saline_material_id])
    container: Mapped[MaterialLot] = relationship(foreign_keys=[container_material_id])


# What a product hold answers (SPEC 4.2, 4.9): QA's hold of a batch, its recall, a look-back.
LOT_HOLD, RECALL, LOOKBACK = "lot_hold", "recall", "lookback"
HOLD_KINDS = (LOT_HOLD, RECALL, LOOKBACK)


class ProductHold(Base):
    """Bags put on hold for what is in them, and the saline bags held with them for placebo
    parity (SPEC 4.5). UNBLINDED ONLY: it ties bags to a lot and says which hold is real."""

    __tablename__ = "product_hold"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('lot_hold', 'recall', 'lookback')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    # The held batch (lot hold, recall); a look-back may start from a donor or a material.
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    # What people call the cause: the lot id or the look-back number.
    reference: Mapped[str] = mapped_column(sa.String(80))
    reason: Mapped[str] = mapped_column(sa.Text)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    # The signature of the hold, recall or look-back that opened it.
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    lot: Mapped[Lot | None] = relationship()
    opened_by: Mapped[User] = relationship()
    bags: Mapped[list[ProductHoldBag]] = relationship(back_populates="hold",
                                                      order_by="ProductHoldBag.id")

    @property
    def number(self) -> str:
        return f"PH-{self.id:04d}"

    @property
    def audit_id(self) -> str:
        return self.number


class ProductHoldBag(Base):
    """One bag a product hold holds: a real one (its content is the cause) or a parity one (a
    saline bag held so that the hold does not mark the arm). Open until the bag leaves the
    hold; a bag is in at most one open product hold at a time."""

    __tablename__ = "product_hold_bag"
    __table_args__ = (
        sa.UniqueConstraint("hold_id", "bag_id"),
        sa.Index("uq_product_hold_bag_open_bag_id", "bag_id", unique=True,
                 postgresql_where=sa.text("left_at IS NULL"),
                 sqlite_where=sa.text("left_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(sa.ForeignKey("product_hold.id"))
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"), index=True)
    parity: Mapped[bool] = mapped_column(default=False)
    held_from: Mapped[str] = mapped_column(sa.String(20))
    # Set by `transition_bag` when the bag leaves `on_hold`, whoever moves it.
    left_at: Mapped[datetime | None]
    left_to: Mapped[str | None] = mapped_column(sa.String(20))
    left_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    hold: Mapped[ProductHold] = relationship(back_populates="bags")
    bag: Mapped[Bag] = relationship()
    left_by: Mapped[User | None] = relationship(foreign_keys=[left_by_id])
    signature: Mapped[Signature | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.left_at is None
