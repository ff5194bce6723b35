"""Tables of the custody domain: locations, custody events, shipments, logger readings and
excursions (SPEC 4.7)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Base, utcnow

# SPEC 3: the places a bag, lot or sample can be.
LOCATION_KINDS = ("incubator", "fridge", "dewar", "ward", "courier_box", "pharmacy", "cleanroom")

# What the person taking a bag saw at hand-off.
CONDITIONS = ("intact", "damaged", "leaking", "label_damaged")

EXCURSION_OPEN = "open"
EXCURSION_DISPOSITIONED = "dispositioned"
# QA's decision on an excursion: the product may still be used, or it may not.
DISPOSITIONS = ("accept", "reject")


class Location(Base):
    __tablename__ = "location"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('incubator', 'fridge', 'dewar', 'ward', 'courier_box', 'pharmacy',"
            " 'cleanroom')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_id(self) -> str:
        return self.code


class CustodyEvent(Base):
    """One hand-off: from (location, person) to (location, person) at a time, with the
    temperature and condition seen. `gap` flags an event that did not start where the last
    one ended (SPEC 4.7)."""

    __tablename__ = "custody_event"
    __table_args__ = (
        sa.Index("ix_custody_event_bag_at", "bag_id", "at"),
        sa.Index("ix_custody_event_item", "item_type", "item_ref", "at"),
        sa.CheckConstraint("action IN ('handoff', 'receipt', 'return')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A bag (bag_id set) or another item named by its public id (a lot, a sample).
    item_type: Mapped[str] = mapped_column(sa.String(20), default="bag")
    item_ref: Mapped[str] = mapped_column(sa.String(80))
    bag_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bag.id"))
    action: Mapped[str] = mapped_column(sa.String(20), default="handoff")
    from_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("location.id"))
    to_location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    from_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    temperature_c: Mapped[float | None]
    condition: Mapped[str] = mapped_column(sa.String(20), default="intact")
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipment.id"), index=True)
    gap: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    from_location: Mapped[Location | None] = relationship(foreign_keys=[from_location_id],
                                                          lazy="joined")
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id], lazy="joined")
    from_user = relationship("User", foreign_keys=[from_user_id], lazy="joined")
    to_user = relationship("User", foreign_keys=[to_user_id], lazy="joined")


class Shipment(Base):
    """Bags that travel together, with the logger file that went with them."""

    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    to_location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id], lazy="joined")
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id], lazy="joined")
    bags: Mapped[list[ShipmentBag]] = relationship(back_populates="shipment",
                                                   order_by="ShipmentBag.id")
    logs: Mapped[list[TemperatureLog]] = relationship(back_populates="shipment",
                                                      order_by="TemperatureLog.id")
    excursions: Mapped[list[Excursion]] = relationship(back_populates="shipment",
                                                       order_by="Excursion.id")


class ShipmentBag(Base):
    __tablename__ = "shipment_bag"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "bag_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipment.id"))
    bag_id: Mapped[int] = mapped_column(sa.ForeignKey("bag.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="bags")
    bag = relationship("Bag", lazy="joined")


class TemperatureLog(Base):
    """One logger file attached to a shipment: its digest, and what it showed."""

    __tablename__ = "temperature_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipment.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    reading_count: Mapped[int]
    range_min_c: Mapped[float]
    range_max_c: Mapped[float]
    minutes_out_of_range: Mapped[float] = mapped_column(default=0.0)

    shipment: Mapped[Shipment] = relationship(back_populates="logs")
    readings: Mapped[list[TemperatureReading]] = relationship(
        back_populates="log", order_by="TemperatureReading.at")


class TemperatureReading(Base):
    __tablename__ = "temperature_reading"
    __table_args__ = (sa.UniqueConstraint("log_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(sa.ForeignKey("temperature_log.id"))
    at: Mapped[datetime]
    temperature_c: Mapped[float]

    log: Mapped[TemperatureLog] = relationship(back_populates="readings")


class Excursion(Base):
    """A stretch out of the storage range longer than the protocol allows (SPEC 4.7): its
    shipment's bags are on hold until QA dispositions it by e-signature."""

    __tablename__ = "excursion"
    __table_args__ = (
        sa.Index("ix_excursion_shipment_status", "shipment_id", "status"),
        sa.CheckConstraint("status IN ('open', 'dispositioned')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipment.id"))
    log_id: Mapped[int] = mapped_column(sa.ForeignKey("temperature_log.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    minutes: Mapped[float]
    lowest_c: Mapped[float]
    highest_c: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(20), default=EXCURSION_OPEN)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    disposition: Mapped[str | None] = mapped_column(sa.String(20))
    disposition_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    dispositioned_at: Mapped[datetime | None]
    dispositioned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    shipment: Mapped[Shipment] = relationship(back_populates="excursions")
    log: Mapped[TemperatureLog] = relationship()
    dispositioned_by = relationship("User", foreign_keys=[dispositioned_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == EXCURSION_OPEN
