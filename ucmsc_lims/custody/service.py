"""Locations and the custody chain of bags: hand-offs, receipt on the ward, the continuity check
(SPEC 4.7). Shipments, logger files and excursions live in `shipments.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..core import audit
from ..core.db import utcnow
from ..core.errors import DomainError, NotFound, NotPermitted
from ..core.ids import parse_location_code
from ..core.isbt128 import ScanError
from ..extensions import db
from .models import CONDITIONS, LOCATION_KINDS, CustodyEvent, Location

if TYPE_CHECKING:
    from ..auth.models import User
    from ..bagging.models import Bag
    from .models import Shipment

# SPEC 4.7: a bag moves on custody only before its infusion starts and while it exists.
_NO_CUSTODY_STATES = frozenset({"infusing", "infused", "destroyed"})
# Leaving the pharmacy for a courier or a ward is the hand-off that puts a bag in transit.
_OUTBOUND_KINDS = frozenset({"courier_box", "ward"})


# --- Locations ---------------------------------------------------------------------------------


def normalise_location_code(code: str) -> str:
    try:
        return parse_location_code(code)
    except ScanError as bad:
        raise DomainError(str(bad)) from None


def location_by_code(code: str) -> Location | None:
    try:
        text = parse_location_code(code)
    except ScanError:
        return None
    return db.session.scalar(sa.select(Location).where(Location.code == text))


def get_location(code: str) -> Location:
    location = location_by_code(code)
    if location is None:
        raise NotFound(_("No location has the code %(code)s.", code=code[:40]))
    return location


def list_locations(kind: str | None = None) -> list[Location]:
    query = sa.select(Location).order_by(Location.kind, Location.code)
    if kind:
        query = query.where(Location.kind == kind)
    return list(db.session.scalars(query))


def create_location(*, code: str, name: str, kind: str, by: User | None) -> Location:
    """An admin names a place (SPEC 2: admin manages locations)."""
    if by is not None and not by.can("location.manage"):
        raise NotPermitted(_("Only an administrator adds locations."))
    code = normalise_location_code(code)
    if kind not in LOCATION_KINDS:
        raise DomainError(_("A location is one of: %(kinds)s.", kinds=", ".join(LOCATION_KINDS)))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the location a name."))
    if location_by_code(code) is not None:
        raise DomainError(_("The location code %(code)s is already in use.", code=code))
    location = Location(code=code, name=name[:200], kind=kind)
    db.session.add(location)
    audit.record(db.session, "location.created", location, actor=by,
                 new={"code": code, "name": location.name, "kind": kind})
    return location


def ward_for_session(code: str | None) -> Location | None:
    """The ward a signed-in nurse works on, if the code names a ward."""
    if not code:
        return None
    location = location_by_code(code)
    return location if location is not None and location.kind == "ward" else None


# --- Custody events ----------------------------------------------------------------------------


def events_of(bag: Bag) -> list[CustodyEvent]:
    return list(db.session.scalars(
        sa.select(CustodyEvent).where(CustodyEvent.bag_id == bag.id)
        .order_by(CustodyEvent.at, CustodyEvent.id)
    ))


def last_event(bag: Bag) -> CustodyEvent | None:
    return db.session.scalar(
        sa.select(CustodyEvent).where(CustodyEvent.bag_id == bag.id)
        .order_by(CustodyEvent.at.desc(), CustodyEvent.id.desc()).limit(1)
    )


def current_location(bag: Bag) -> Location | None:
    event = last_event(bag)
    return event.to_location if event else None


def _check_condition(condition: str) -> str:
    if condition not in CONDITIONS:
        raise DomainError(_("The condition is one of: %(c)s.", c=", ".join(CONDITIONS)))
    return condition


def _check_temperature(temperature_c: float | None) -> float | None:
    if temperature_c is not None and not -200 <= temperature_c <= 60:
        raise DomainError(_("%(t)s °C is not a possible hand-off temperature.", t=temperature_c))
    return temperature_c


def _bag_is_expired(bag: Bag, now: datetime) -> bool:
    from ..bagging import service as bagging

    return bagging.effective_status(bag, now) == "expired"


def _add_event(
    bag: Bag, *, action: str, to_location: Location, by: User, from_location: Location | None,
    to_user: User | None, temperature_c: float | None, condition: str,
    shipment: Shipment | None, at: datetime, note: str | None,
) -> CustodyEvent:
    previous = last_event(bag)
    gap = False
    if from_location is None:
        from_location = previous.to_location if previous else None
    elif previous is not None and previous.to_location_id != from_location.id:
        gap = True  # SPEC 4.7: the chain must be unbroken; a gap is flagged, not hidden
    event = CustodyEvent(
        item_type="bag", item_ref=bag.bag_id, bag_id=bag.id, action=action,
        from_location=from_location, to_location=to_location,
        from_user_id=previous.to_user_id if previous else None,
        to_user_id=to_user.id if to_user else None, at=at,
        temperature_c=_check_temperature(temperature_c), condition=_check_condition(condition),
        shipment_id=shipment.id if shipment else None, gap=gap, recorded_by_id=by.id,
        note=(note or None) and note[:500],
    )
    db.session.add(event)
    audit.record(db.session, f"custody.{action}", ("bag", bag.bag_id), actor=by, new={
        "from": from_location.code if from_location else None, "to": to_location.code,
        "to_user": to_user.username if to_user else None, "temperature_c": temperature_c,
        "condition": condition, "gap": gap, "at": at,
    })
    return event


def record_handoff(
    bag: Bag, *, to_location: Location, by: User, temperature_c: float | None = None,
    condition: str = "intact", from_location: Location | None = None,
    to_user: User | None = None, shipment: Shipment | None = None, at: datetime | None = None,
    note: str | None = None, destination: Location | None = None,
) -> CustodyEvent:
    """Hand a bag on to a place (and person). A released bag leaving for a courier or a ward
    goes in transit (SPEC 4.7 table) and is addressed to a ward: the hand-off's ward, else the
    shipment's, else `destination`. A bag not released for issue may not leave."""
    from ..bagging import service as bagging

    if not by.can("custody.record"):
        raise NotPermitted(_("Your role does not record custody hand-offs."))
    now = utcnow()
    at = at or now
    if bag.status in _NO_CUSTODY_STATES:
        raise DomainError(_("This bag is %(status)s: it no longer moves on custody.",
                            status=bag.status.replace("_", " ")))
    outbound = to_location.kind in _OUTBOUND_KINDS
    if outbound:
        if _bag_is_expired(bag, now):
            raise DomainError(_("This bag has expired: it may not be issued."))
        if bag.status not in ("released_for_issue", "in_transit"):
            raise DomainError(_("This bag is %(status)s, not released for issue: it may not "
                                "leave the pharmacy.", status=bag.status.replace("_", " ")))
        ward = _destination_ward(to_location, shipment, destination)
        if ward is None and not bag.destination_ward:
            raise DomainError(_("Name the ward this bag is going to."))
    event = _add_event(bag, action="handoff", to_location=to_location, by=by,
                       from_location=from_location, to_user=to_user,
                       temperature_c=temperature_c, condition=condition, shipment=shipment,
                       at=at, note=note)
    if outbound:
        if ward is not None and bag.destination_ward != ward.code:
            # bagging.models.Bag: the destination is set by custody at hand-off.
            audit.record(db.session, "bag.destination_set", ("bag", bag.bag_id), actor=by,
                         old={"destination_ward": bag.destination_ward},
                         new={"destination_ward": ward.code})
            bag.destination_ward = ward.code
        if bag.status == "released_for_issue":
            bagging.transition_bag(bag, "in_transit", by=by,
                                   reason=f"handed off to {to_location.code}")
    return event


def _destination_ward(to_location: Location, shipment: Shipment | None,
                      destination: Location | None) -> Location | None:
    for candidate in (to_location, shipment.to_location if shipment else None, destination):
        if candidate is not None and candidate.kind == "ward":
            return candidate
    if destination is not None:
        raise DomainError(_("%(code)s is not a ward.", code=destination.code))
    return None


def receive_on_ward(
    bag: Bag, *, ward: Location, by: User, temperature_c: float | None = None,
    condition: str = "intact", at: datetime | None = None,
) -> CustodyEvent:
    """A nurse scans a bag in on the ward named as its destination (SPEC 4.7)."""
    from ..bagging import service as bagging

    if not by.can("custody.receive"):
        raise NotPermitted(_("Your role does not receive bags on the ward."))
    if ward.kind != "ward":
        raise DomainError(_("%(code)s is not a ward.", code=ward.code))
    now = utcnow()
    if _bag_is_expired(bag, now):
        raise DomainError(_("This bag has expired: do not receive it; return it to pharmacy."))
    if bag.status == "received_on_ward":
        raise DomainError(_("This bag was already received on the ward."))
    if bag.status != "in_transit":
        raise DomainError(_("This bag is %(status)s, not in transit: it cannot be received.",
                            status=bag.status.replace("_", " ")))
    if (bag.destination_ward or "").upper() != ward.code:
        raise DomainError(_("This bag is addressed to %(dest)s, not to %(ward)s: do not "
                            "receive it here.", dest=bag.destination_ward or "-",
                            ward=ward.code))
    event = _add_event(bag, action="receipt", to_location=ward, by=by, from_location=None,
                       to_user=by, temperature_c=temperature_c, condition=condition,
                       shipment=None, at=at or now, note=None)
    bagging.transition_bag(bag, "received_on_ward", by=by, reason=f"received on {ward.code}")
    return event


def record_return(
    bag: Bag, *, to_location: Location, by: User, temperature_c: float | None = None,
    condition: str = "intact", reason: str,
) -> CustodyEvent:
    """An unused bag goes back to pharmacy and is never issued again (SPEC 4.7)."""
    from ..bagging import service as bagging

    if not (reason or "").strip():
        raise DomainError(_("Give the reason the bag goes back."))
    event = _add_event(bag, action="return", to_location=to_location, by=by, from_location=None,
                       to_user=None, temperature_c=temperature_c, condition=condition,
                       shipment=None, at=utcnow(), note=reason)
    bagging.transition_bag(bag, "returned", by=by, reason=reason)
    return event


# --- The continuity check ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainStatus:
    complete: bool
    message: str


@dataclass(frozen=True)
class ChainSummary:
    """What the continuity check needs of a bag's custody events, read in one statement."""

    events: int
    gaps: int
    damaged: int
    last_action: str | None
    last_ward: str | None


def chain_summary_columns(bag_id: sa.ColumnElement[int] | int) -> list[sa.Label]:
    """The columns of a `ChainSummary`, as scalar subqueries on `bag_id` (a value, or a column
    of an outer query, so the bedside reads them in the same statement as the bag)."""
    of_bag = CustodyEvent.bag_id == bag_id
    last = (sa.select(CustodyEvent.action, Location.code)
            .join(Location, Location.id == CustodyEvent.to_location_id).where(of_bag)
            .order_by(CustodyEvent.at.desc(), CustodyEvent.id.desc()).limit(1))
    return [
        sa.select(sa.func.count(CustodyEvent.id)).where(of_bag)
        .scalar_subquery().label("chain_events"),
        sa.select(sa.func.count(CustodyEvent.id)).where(of_bag, CustodyEvent.gap)
        .scalar_subquery().label("chain_gaps"),
        sa.select(sa.func.count(CustodyEvent.id)).where(of_bag, CustodyEvent.condition != "intact")
        .scalar_subquery().label("chain_damaged"),
        last.with_only_columns(CustodyEvent.action).scalar_subquery().label("chain_last_action"),
        last.with_only_columns(Location.code).scalar_subquery().label("chain_last_ward"),
    ]


def chain_summary_of(row: Any) -> ChainSummary:
    return ChainSummary(events=row.chain_events or 0, gaps=row.chain_gaps or 0,
                        damaged=row.chain_damaged or 0, last_action=row.chain_last_action,
                        last_ward=row.chain_last_ward)


def judge_chain(summary: ChainSummary, ward_code: str | None) -> ChainStatus:
    """Is the chain unbroken from its first hand-off up to receipt on this ward?

    The messages are for the nurse at the bedside and never differ by arm.
    """
    if not ward_code:
        return ChainStatus(False, _("no ward chosen: scan the ward's location label"))
    if not summary.events:
        return ChainStatus(False, _("bag not received on this ward: scan it in first"))
    if summary.gaps:
        return ChainStatus(False, _("custody chain has a gap: contact pharmacy"))
    if summary.damaged:
        return ChainStatus(False, _("bag recorded damaged in custody: contact pharmacy"))
    if summary.last_action != "receipt":
        return ChainStatus(False, _("bag not received on this ward: scan it in first"))
    if summary.last_ward != ward_code:
        return ChainStatus(False, _("bag received on %(ward)s, not on this ward",
                                    ward=summary.last_ward))
    return ChainStatus(True, _("custody complete up to receipt on this ward"))


def chain_status(bag: Bag, ward_code: str | None) -> ChainStatus:
    row = db.session.execute(sa.select(*chain_summary_columns(bag.id))).one()
    return judge_chain(chain_summary_of(row), ward_code)


def chain_complete_to(bag: Bag, ward_code: str | None) -> bool:
    return chain_status(bag, ward_code).complete


def chain_gaps(bag: Bag) -> list[CustodyEvent]:
    return [event for event in events_of(bag) if event.gap]


def open_excursions(bag: Bag) -> list:
    from .shipments import open_excursions as _open

    return _open(bag)


def minutes_out_of_range(bag: Bag) -> float:
    from .shipments import minutes_out_of_range as _minutes

    return _minutes(bag)


# --- Reads for the custody pages ---------------------------------------------------------------


def bag_for_scan(code: str) -> Bag:
    """The bag a scanned label names; a voided label is refused (SPEC 4.6)."""
    from ..bagging import service as bagging

    try:
        bag, voided = bagging.bag_by_code(code or "")
    except ScanError:
        bag, voided = None, False
    if voided:
        raise DomainError(_("label voided: this label was replaced"))
    if bag is None:
        raise DomainError(_("bag not known"))
    return bag


def bags_in_transit_to(ward_code: str, *, limit: int = 100) -> list[Bag]:
    """Bags on their way to a ward: what the nurse expects to scan in. A thin read of the bag
    table (no bagging service lists bags by destination)."""
    from ..bagging.models import Bag

    return list(db.session.scalars(
        sa.select(Bag).where(Bag.destination_ward == ward_code, Bag.status == "in_transit")
        .order_by(Bag.bag_id).limit(limit)
    ))
