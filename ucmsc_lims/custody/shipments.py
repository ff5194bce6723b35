"""Shipments of bags, their temperature-logger files, and excursions that hold bags until QA
dispositions them (SPEC 4.7)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..core import audit, esign
from ..core.clock import site_zone
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..extensions import db
from ..protocol import service as protocol
from .models import (
    DISPOSITIONS,
    EXCURSION_DISPOSITIONED,
    EXCURSION_OPEN,
    Excursion,
    Location,
    Shipment,
    ShipmentBag,
    TemperatureLog,
    TemperatureReading,
)
from .temperature import out_of_range_stretches, parse_logger_csv

if TYPE_CHECKING:
    from ..auth.models import User
    from ..bagging.models import Bag

MAX_LOG_BYTES = 5 * 1024 * 1024
# SPEC 4.7: a hold applies to any state before infusing; these are already out of circulation.
_HOLDABLE = frozenset({"filled", "released_for_issue", "in_transit", "received_on_ward",
                       "verified"})


def get_shipment(shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(_("No shipment %(id)s.", id=shipment_id))
    return shipment


def list_shipments(limit: int = 50) -> list[Shipment]:
    return list(db.session.scalars(
        sa.select(Shipment).order_by(Shipment.created_at.desc(), Shipment.id.desc()).limit(limit)
    ))


def create_shipment(*, from_location: Location, to_location: Location, by: User,
                    note: str | None = None) -> Shipment:
    if not by.can("custody.record"):
        raise NotPermitted(_("Your role does not record shipments."))
    if from_location.id == to_location.id:
        raise DomainError(_("A shipment goes from one place to another."))
    shipment = Shipment(from_location=from_location, to_location=to_location,
                        created_by_id=by.id, note=(note or None) and note[:500])
    db.session.add(shipment)
    audit.record(db.session, "shipment.created", shipment, actor=by,
                 new={"from": from_location.code, "to": to_location.code})
    return shipment


def add_bag(shipment: Shipment, bag: Bag, *, by: User) -> ShipmentBag:
    if not by.can("custody.record"):
        raise NotPermitted(_("Your role does not record shipments."))
    if any(item.bag_id == bag.id for item in shipment.bags):
        raise DomainError(_("This bag is already in the shipment."))
    item = ShipmentBag(shipment=shipment, bag_id=bag.id)
    db.session.add(item)
    # The packing order is the technician's, who may pack one arm first: blinded readers see
    # the shipment's bags only in the dispatch entry, sorted by bag id (SPEC 4.5).
    audit.record(db.session, "shipment.bag_added", shipment, actor=by,
                 new={"bag_id": bag.bag_id}, blinded_visible=False)
    return item


def dispatch(shipment: Shipment, *, by: User, temperature_c: float | None,
             condition: str = "intact") -> int:
    """Hand every bag of the shipment on to its destination; returns how many moved."""
    from .service import record_handoff

    moved = 0
    # In bag id order, so the custody events do not replay a packing order that could follow
    # the arm (SPEC 4.5).
    items = sorted(shipment.bags, key=lambda item: item.bag.bag_id)
    audit.record(db.session, "shipment.dispatched", shipment, actor=by,
                 new={"bag_ids": [item.bag.bag_id for item in items],
                      "to": shipment.to_location.code})
    for item in items:
        record_handoff(item.bag, to_location=shipment.to_location, by=by,
                       temperature_c=temperature_c, condition=condition, shipment=shipment)
        moved += 1
    return moved


def shipments_of(bag: Bag) -> list[Shipment]:
    return list(db.session.scalars(
        sa.select(Shipment).join(ShipmentBag).where(ShipmentBag.bag_id == bag.id)
        .order_by(Shipment.id)
    ))


# --- Logger files and excursions ---------------------------------------------------------------


def attach_temperature_log(shipment: Shipment, *, filename: str, content: bytes,
                           by: User) -> TemperatureLog:
    """Attach a logger CSV (`timestamp,temperature_c`), sum the time out of the storage range,
    and open an excursion for each stretch out of range longer than the protocol allows; an
    excursion puts the shipment's bags on hold (SPEC 4.7)."""
    # SPEC 4.7: an excursion puts bags on hold, a move QA or the pharmacist makes; so they
    # are the ones who attach the logger file that may open one.
    if not by.can("custody.logger"):
        raise NotPermitted(_("QA or the pharmacist attaches logger files."))
    if len(content) > MAX_LOG_BYTES:
        raise DomainError(_("The logger file is larger than 5 MB."))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise DomainError(_("The logger file is not UTF-8 text (CSV).")) from None
    readings = parse_logger_csv(text, zone=site_zone())
    lowest = float(protocol.value("storage_min_c"))
    highest = float(protocol.value("storage_max_c"))
    allowed = float(protocol.value("max_minutes_out_of_range"))
    stretches = out_of_range_stretches(readings, minimum_c=lowest, maximum_c=highest)
    log = TemperatureLog(
        shipment=shipment, filename=(filename or "logger.csv")[:200],
        sha256=hashlib.sha256(content).hexdigest(), uploaded_by_id=by.id,
        first_at=readings[0].at, last_at=readings[-1].at, reading_count=len(readings),
        range_min_c=lowest, range_max_c=highest,
        minutes_out_of_range=round(sum(s.minutes for s in stretches), 2),
    )
    db.session.add(log)
    db.session.flush()
    db.session.execute(sa.insert(TemperatureReading), [
        {"log_id": log.id, "at": r.at, "temperature_c": r.temperature_c} for r in readings
    ])
    audit.record(db.session, "temperature_log.attached", log, actor=by, new={
        "shipment": shipment.id, "filename": log.filename, "sha256": log.sha256,
        "readings": len(readings), "minutes_out_of_range": log.minutes_out_of_range,
    })
    for stretch in stretches:
        if stretch.minutes > allowed:
            _open_excursion(shipment, log, stretch, by=by)
    return log


def _open_excursion(shipment: Shipment, log: TemperatureLog, stretch, *, by: User) -> Excursion:
    from ..bagging import service as bagging

    excursion = Excursion(
        shipment=shipment, log=log, started_at=stretch.started_at, ended_at=stretch.ended_at,
        minutes=round(stretch.minutes, 2), lowest_c=stretch.lowest_c,
        highest_c=stretch.highest_c,
    )
    db.session.add(excursion)
    audit.record(db.session, "excursion.opened", excursion, actor=by, new={
        "shipment": shipment.id, "minutes": excursion.minutes, "lowest_c": stretch.lowest_c,
        "highest_c": stretch.highest_c,
    })
    for item in shipment.bags:
        if item.bag.status in _HOLDABLE:
            bagging.transition_bag(item.bag, "on_hold", by=by,
                                   reason=f"temperature excursion {excursion.id}")
    return excursion


def get_excursion(excursion_id: int) -> Excursion:
    excursion = db.session.get(Excursion, excursion_id)
    if excursion is None:
        raise NotFound(_("No excursion %(id)s.", id=excursion_id))
    return excursion


def list_excursions(*, only_open: bool = False, limit: int = 100) -> list[Excursion]:
    query = sa.select(Excursion).order_by(Excursion.opened_at.desc(), Excursion.id.desc())
    if only_open:
        query = query.where(Excursion.status == EXCURSION_OPEN)
    return list(db.session.scalars(query.limit(limit)))


def disposition_excursion(
    excursion: Excursion, *, decision: str, reason: str, username: str, password: str, by: User,
) -> Excursion:
    """QA signs the disposition ("excursion_disposition"). Accepted: bags this excursion held
    go back to the state they left, unless another open excursion still holds them. Rejected:
    they stay on hold for the pharmacist to destroy. A bag whose batch is still held goes back
    on that hold (bagging.holds)."""
    from ..bagging import holds
    from ..bagging import service as bagging

    if not by.can("excursion.disposition"):
        raise NotPermitted(_("Only QA dispositions excursions."))
    if decision not in DISPOSITIONS:
        raise DomainError(_("The disposition is accept or reject."))
    if not (reason or "").strip():
        raise DomainError(_("Give the reason for the disposition."))
    if excursion.status != EXCURSION_OPEN:
        raise Conflict(_("This excursion was already dispositioned."))
    signature = esign.sign(
        db.session, username=username, password=password, meaning="excursion_disposition",
        entity=("excursion", str(excursion.id)), signer_must_be=by,
        content={"excursion": excursion.id, "decision": decision, "reason": reason,
                 "minutes": excursion.minutes},
    )
    excursion.status = EXCURSION_DISPOSITIONED
    excursion.disposition = decision
    excursion.disposition_reason = reason.strip()[:1000]
    excursion.dispositioned_at = utcnow()
    excursion.dispositioned_by_id = by.id
    excursion.signature_id = signature.id
    audit.record(db.session, "excursion.dispositioned", excursion, actor=by, reason=reason,
                 old={"status": EXCURSION_OPEN},
                 new={"status": EXCURSION_DISPOSITIONED, "decision": decision})
    db.session.flush()
    if decision == "accept":
        held = [item.bag for item in excursion.shipment.bags
                if item.bag.status == "on_hold" and item.bag.held_from
                and not open_excursions(item.bag)]
        if held:
            # bagging: a bag leaves a hold only with QA's "bag_hold_disposition" signature.
            release = esign.sign(
                db.session, username=username, password=password,
                meaning="bag_hold_disposition", entity=("excursion", str(excursion.id)),
                signer_must_be=by, content={"excursion": excursion.id,
                                            "bags": sorted(b.bag_id for b in held)},
            )
            for bag in held:
                bagging.transition_bag(bag, bag.held_from, by=by, signature=release,
                                       reason=f"excursion {excursion.id} accepted by QA")
            holds.hold_again_for_content(held, by=by)
    return excursion


def _shipment_ids_of(bag: Bag):
    return sa.select(ShipmentBag.shipment_id).where(ShipmentBag.bag_id == bag.id)


def open_excursions(bag: Bag) -> list[Excursion]:
    return list(db.session.scalars(
        sa.select(Excursion).where(Excursion.shipment_id.in_(_shipment_ids_of(bag)),
                                   Excursion.status == EXCURSION_OPEN)
    ))


def minutes_out_of_range(bag: Bag) -> float:
    """Time out of the storage range summed over the logger files of the bag's shipments.

    A stretch QA accepted by signing its excursion's disposition no longer counts: QA judged
    the product fit, and counting it still would make that judgement void at the bedside.
    """
    shipments = _shipment_ids_of(bag)
    logged = sa.select(sa.func.coalesce(sa.func.sum(TemperatureLog.minutes_out_of_range), 0.0))\
        .where(TemperatureLog.shipment_id.in_(shipments)).scalar_subquery()
    accepted = sa.select(sa.func.coalesce(sa.func.sum(Excursion.minutes), 0.0)).where(
        Excursion.shipment_id.in_(shipments), Excursion.disposition == "accept"
    ).scalar_subquery()
    total = db.session.execute(sa.select(logged - accepted)).scalar_one()
    return max(0.0, round(float(total or 0.0), 2))


def excursion_columns(bag_id: sa.ColumnElement[int] | int) -> list[sa.Label]:
    """Open excursions and minutes out of range (logged minus accepted) of the bag's shipments,
    as scalar subqueries on `bag_id`, for the bedside's one read."""
    # Explicit correlation: `bag_id` may be a column of the query two levels up.
    shipments = (sa.select(ShipmentBag.shipment_id).where(ShipmentBag.bag_id == bag_id)
                 .correlate_except(ShipmentBag))
    return [
        sa.select(sa.func.count(Excursion.id)).where(
            Excursion.shipment_id.in_(shipments), Excursion.status == EXCURSION_OPEN
        ).scalar_subquery().label("open_excursions"),
        (sa.select(sa.func.coalesce(sa.func.sum(TemperatureLog.minutes_out_of_range), 0.0))
         .where(TemperatureLog.shipment_id.in_(shipments)).scalar_subquery()
         - sa.select(sa.func.coalesce(sa.func.sum(Excursion.minutes), 0.0)).where(
             Excursion.shipment_id.in_(shipments), Excursion.disposition == "accept"
         ).scalar_subquery()).label("minutes_out_of_range"),
    ]


def excursion_status_of(row: Any) -> tuple[int, float]:
    return (int(row.open_excursions or 0),
            max(0.0, round(float(row.minutes_out_of_range or 0.0), 2)))


def excursion_status(bag: Bag) -> tuple[int, float]:
    """(open excursions, minutes out of range) in one query: what the bedside needs."""
    return excursion_status_of(db.session.execute(sa.select(*excursion_columns(bag.id))).one())
