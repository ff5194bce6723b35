"""Lots (cell bank lots and product batches), their vials, processing, passages, material use
and state changes (SPEC 4.2; contract: table `lot`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow
from ..donors.models import Collection
from ..materials.models import MaterialLot

CELL_BANK, PRODUCT_BATCH = "cell_bank", "product_batch"
KINDS = (CELL_BANK, PRODUCT_BATCH)


class Lot(Base):
    __tablename__ = "lot"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('cell_bank', 'product_batch')", name="kind"),
        sa.CheckConstraint("cells_allocated >= 0", name="cells_allocated"),
        sa.Index("ix_lot_state_kind", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    din: Mapped[str] = mapped_column(sa.String(13), index=True)
    product_code: Mapped[str] = mapped_column(sa.String(8))
    state: Mapped[str] = mapped_column(sa.String(20))
    # SPEC 4.2: on_hold goes back to the state it was held from.
    held_from: Mapped[str | None] = mapped_column(sa.String(20))
    collection_id: Mapped[int] = mapped_column(sa.ForeignKey("collection.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    banked_at: Mapped[datetime | None]
    harvested_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    cells_harvested: Mapped[float | None]
    harvest_viability_pct: Mapped[float | None]
    cells_allocated: Mapped[float] = mapped_column(default=0.0)
    # SPEC 4.3: a conditional release names the tests still pending; shown on every view.
    conditional_tests: Mapped[list[str] | None] = mapped_column(sa.JSON)
    release_signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    collection: Mapped[Collection] = relationship(lazy="joined")
    parent: Mapped[Lot | None] = relationship(remote_side=[id])
    started_by: Mapped[User] = relationship()
    passages: Mapped[list[Passage]] = relationship(
        back_populates="lot", order_by="Passage.number", lazy="selectin")
    vials: Mapped[list[Vial]] = relationship(
        back_populates="lot", foreign_keys="Vial.lot_id", order_by="Vial.number")

    @property
    def audit_id(self) -> str:
        return self.lot_id

    @property
    def is_bank(self) -> bool:
        return self.kind == CELL_BANK

    @property
    def cells_left(self) -> float:
        return max((self.cells_harvested or 0.0) - self.cells_allocated, 0.0)


class Vial(Base):
    """One cryopreserved vial of a cell bank, at its freezer or dewar position."""

    __tablename__ = "vial"
    __table_args__ = (
        sa.UniqueConstraint("lot_id", "number"),
        sa.CheckConstraint("status IN ('stored', 'thawed', 'discarded')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"))
    number: Mapped[int]
    position: Mapped[str] = mapped_column(sa.String(80))
    cells: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(10), default="stored")
    thawed_at: Mapped[datetime | None]
    thawed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    thawed_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"))

    lot: Mapped[Lot] = relationship(back_populates="vials", foreign_keys=[lot_id])
    thawed_into: Mapped[Lot | None] = relationship(foreign_keys=[thawed_into_id])

    @property
    def label(self) -> str:
        return f"{self.lot.lot_id}-V{self.number:03d}"


class ProcessingStep(Base):
    """Explant or enzymatic digestion of the cord tissue (SPEC 4.2)."""

    __tablename__ = "processing_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    method: Mapped[str] = mapped_column(sa.String(20))
    performed_at: Mapped[datetime]
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    notes: Mapped[str | None] = mapped_column(sa.Text)

    operator: Mapped[User] = relationship()


class Passage(Base):
    """One passage: counts in and out, conditions, operator and second-person verifier."""

    __tablename__ = "passage"
    __table_args__ = (
        sa.UniqueConstraint("lot_id", "number"),
        sa.CheckConstraint("cells_seeded > 0", name="cells_seeded"),
        sa.CheckConstraint("cells_harvested > 0", name="cells_harvested"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"))
    number: Mapped[int]
    seeded_at: Mapped[datetime]
    harvested_at: Mapped[datetime]
    vessels: Mapped[str] = mapped_column(sa.String(120))
    cells_seeded: Mapped[float]
    cells_harvested: Mapped[float]
    viability_pct: Mapped[float]
    confluence_pct: Mapped[float]
    incubator: Mapped[str] = mapped_column(sa.String(40))
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    verifier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None]
    # SPEC 4.2: why a doubling time outside the plausible range was recorded as it is.
    growth_reason: Mapped[str | None] = mapped_column(sa.Text)

    lot: Mapped[Lot] = relationship(back_populates="passages")
    operator: Mapped[User] = relationship(foreign_keys=[operator_id], lazy="joined")
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id], lazy="joined")

    @property
    def label(self) -> str:
        return f"P{self.number}"


class MaterialUse(Base):
    """A material lot used in one step of a lot."""

    __tablename__ = "material_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    material_lot_id: Mapped[int] = mapped_column(sa.ForeignKey("material_lot.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(40))
    passage_id: Mapped[int | None] = mapped_column(sa.ForeignKey("passage.id"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    material: Mapped[MaterialLot] = relationship(lazy="joined")
    used_by: Mapped[User] = relationship()


class LotTransition(Base):
    """Every state change of a lot, with who, when and why (the lot's own history)."""

    __tablename__ = "lot_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    by: Mapped[User | None] = relationship(lazy="joined")
